# Build the release binary, then run it on a slim Debian as a non-root user.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p incident-host --bin incident-env

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home incident
COPY --from=build /src/target/release/incident-env /usr/local/bin/incident-env
USER incident
# `serve` reads its port from PORT: `docker run -e PORT=9000 -p 9000:9000 incident-env`.
ENV PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health" || exit 1
CMD ["incident-env", "serve", "--host", "0.0.0.0"]
