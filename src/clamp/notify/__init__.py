"""Outbound notifications: the outbox's notices delivered to webhooks (Standard Webhooks),
Slack, Microsoft Teams, Splunk HEC, Microsoft Sentinel and Google Cloud Logging
(``Dispatcher``)."""
