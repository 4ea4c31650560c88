# BarunRun service image: the consumer (`barunrun serve`), the simulator and the tools.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    BARUNRUN_CONFIG=/app/config/barunrun.toml

WORKDIR /app
# Dependencies first, so code changes do not reinstall TensorFlow.
COPY pyproject.toml README.md ./
RUN mkdir -p consumer producer_sim && touch consumer/__init__.py producer_sim/__init__.py \
    && pip install . && pip uninstall -y barunrun
COPY consumer ./consumer
COPY producer_sim ./producer_sim
COPY config ./config
RUN pip install --no-deps . \
    && useradd --uid 10001 --create-home barunrun \
    && mkdir -p /models && chown barunrun /models
USER 10001
EXPOSE 9108
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('BARUNRUN_METRICS_PORT', '9108'), timeout=2)"
ENTRYPOINT ["barunrun"]
CMD ["serve"]
