"""Test support, not part of the installed package or any image: stand-ins for
what is outside PII Guard (Slack's servers; later Notion and Socket Mode) and a
launcher for the real pipeline, for the tests and the benchmarks. Nothing of ours
is faked here: the services run as real processes over real NATS."""
