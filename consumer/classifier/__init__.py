"""The supervised bad-form classifier (issue 9): labelled windows in, P(bad form) out.

It reads the same windows (``consumer.windows.rules``), the same features
(``consumer.features.FeaturePipeline``) and the same per-channel scaling as the autoencoder,
and is saved as a model directory of the same family (``manifest.json`` with
``kind: classifier``, the decision threshold and the fault names, plus ``model.keras``), so a
classifier can only ever be served with the features it was trained on.

* ``labels``: labelled windows -> targets, class weights, the split by user (numpy only)
* ``metrics``: precision, recall, F1, ROC/PR AUC, confusion matrices, decision thresholds
* ``networks``, ``fit``: the Keras networks (LSTM, GRU, Transformer) and their training
* ``scorer``, ``runner``, ``artifact``: serving (``WindowClassifier`` implements ``Scorer``)
* ``data``, ``train``, ``evaluate``, ``report``: ``barunrun train-classifier``
"""
