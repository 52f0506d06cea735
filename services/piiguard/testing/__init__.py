"""Stand-ins for what is outside PII Guard (Slack's servers), and a launcher
for the real pipeline, for the tests and the benchmarks. Nothing of ours is
faked here: the services run as real processes over real NATS."""
