"""The chat channels, one module each, set in credentials.yml.

- checks: the input checks every channel shares (InputError, clean_message,
  parse_body, the conversation id prefixes, the size limits).
- rest: the REST webhook, guarded by a token (TokenRestInput).
- website: the website chat widget's channel, over socket.io (ClinicSocketIOInput).
- telegram: Telegram, with the webhook's secret checked (SecretTelegramInput).
- slack: Slack, configured from the environment (EnvSlackInput).
- status: which channels `make run` switches on (python -m threshold.channels.status).
"""
