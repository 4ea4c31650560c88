"""BarunRun capture client: MediaPipe Pose on a video or camera, to Kafka or a recording CSV.

The client speaks only the external contract (the frame message and the recording CSV format):
it imports nothing of the server, as a phone app would not. MediaPipe is imported only where
the pose is estimated (``pose.py``), so the pure parts load without it.
"""

__version__ = "0.1.0"
