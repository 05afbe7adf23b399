"""Real-time inputs: deliveries from Azure Event Grid and Google Cloud Pub/Sub push, parsed
into ``CloudEvent`` records (``clamp.events.record``), verified (``clamp.events.verify``)
and configured by ``[events.azure]`` / ``[events.gcp]`` (``clamp.events.config``)."""
