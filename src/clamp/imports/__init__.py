"""Inbound findings from other tools (Prowler, Security Command Center, Defender for
Cloud), mapped to Clamp's checks and fixed only once Clamp's own read confirms them."""
