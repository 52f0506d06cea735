# syntax=docker/dockerfile:1
# PII Guard's images, one target per component, from the repository root:
#
#   docker build --target ingest    -t piiguard-ingest .
#   docker build --target detection -t piiguard-detection .
#   docker build --target action    -t piiguard-action .
#   docker build --target operator  -t piiguard-operator .
#
# Each image holds the base dependencies plus its component's extra (pyproject.toml),
# at the exact versions of constraints.txt: only detection carries spaCy, the model,
# Presidio and the file extractors; no image carries nats-server or the test support.
# Dependencies are installed before the source is copied, so a source edit rebuilds
# only the last layer.

# Pinned to an exact patch release (same minor as requires-python); pin a digest
# (python:3.11.7-slim-bookworm@sha256:...) in a registry mirror for byte-identical bases.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS python
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/piiguard
WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY docker/requirements.py ./docker/

# The package itself, built once as a wheel (no dependencies) for every target.
FROM python AS wheel
COPY README.md ./
COPY services ./services
COPY operator ./operator
RUN /opt/piiguard/bin/pip wheel --no-deps --wheel-dir /wheel .

# One dependency layer per component.
FROM python AS deps-ingest
RUN python docker/requirements.py ingest > requirements.txt \
    && /opt/piiguard/bin/pip install -r requirements.txt -c constraints.txt
FROM python AS deps-detection
RUN python docker/requirements.py detection > requirements.txt \
    && /opt/piiguard/bin/pip install -r requirements.txt -c constraints.txt
FROM python AS deps-action
RUN python docker/requirements.py action > requirements.txt \
    && /opt/piiguard/bin/pip install -r requirements.txt -c constraints.txt
FROM python AS deps-operator
RUN python docker/requirements.py operator > requirements.txt \
    && /opt/piiguard/bin/pip install -r requirements.txt -c constraints.txt

# What every runtime image shares: no compilers, no pip cache, an unprivileged user.
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.vendor="PII Guard" \
      org.opencontainers.image.description="Self-hosted, Kubernetes-native guard that removes Slack messages leaking personal or secret data." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/piiguard/piiguard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
ENV PATH=/opt/piiguard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001
ENTRYPOINT ["piiguard"]

FROM runtime AS ingest
LABEL org.opencontainers.image.title="piiguard-ingest"
COPY --from=deps-ingest /opt/piiguard /opt/piiguard
COPY --from=wheel /wheel /wheel
USER root
RUN /opt/piiguard/bin/pip install --no-deps /wheel/*.whl && rm -rf /wheel
USER 10001
ENV PIIGUARD_HTTP_PORT=3000 PIIGUARD_GRPC_PORT=50051
EXPOSE 3000 50051
CMD ["ingest"]

FROM runtime AS detection
LABEL org.opencontainers.image.title="piiguard-detection"
USER root
# Tesseract OCR (text in images and scanned PDFs): the same packages as
# .ci/system-packages, minus the fonts only the tests need.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*
COPY --from=deps-detection /opt/piiguard /opt/piiguard
COPY --from=wheel /wheel /wheel
RUN /opt/piiguard/bin/pip install --no-deps /wheel/*.whl && rm -rf /wheel
USER 10001
ENV OMP_THREAD_LIMIT=1 PIIGUARD_GRPC_PORT=50052
EXPOSE 50052
CMD ["detection"]

FROM runtime AS action
LABEL org.opencontainers.image.title="piiguard-action"
COPY --from=deps-action /opt/piiguard /opt/piiguard
COPY --from=wheel /wheel /wheel
USER root
RUN /opt/piiguard/bin/pip install --no-deps /wheel/*.whl && rm -rf /wheel
USER 10001
ENV PIIGUARD_GRPC_PORT=50053
EXPOSE 50053
CMD ["action"]

FROM runtime AS operator
LABEL org.opencontainers.image.title="piiguard-operator"
COPY --from=deps-operator /opt/piiguard /opt/piiguard
COPY --from=wheel /wheel /wheel
USER root
RUN /opt/piiguard/bin/pip install --no-deps /wheel/*.whl && rm -rf /wheel
USER 10001
EXPOSE 8080 9443
# Same as `piiguard operator`; flags (--namespace, --all-namespaces, ...) come as args.
ENTRYPOINT ["python", "-m", "piiguard_operator"]
CMD []
