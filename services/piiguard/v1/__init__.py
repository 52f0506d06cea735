"""Generated protobuf and gRPC code for the contracts in proto/piiguard/v1 (do not edit)."""
