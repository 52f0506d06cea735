"""The history sweep: reading channels' past messages from Slack (``history``) and the
``piiguard sweep`` command (``command``)."""
