"""Network telemetry: flow logs parsed by the drivers (``clamp.providers.*.flowlogs``),
aggregated and kept (``clamp.events.flows.model`` holds the records both sides share),
turned into signals on exposed resources and into the blast radius of a network plan."""
