# A container image of tusk: build the release binary, then copy it into a
# small runtime image. Build and use:
#
#   docker build -t tusk .
#   docker run --rm -v "$PWD:/site" -w /site tusk build
#   docker run --rm -v "$PWD:/site" -w /site -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY tusk --env production publish
#
# The sources are copied without .git: pass the commit for `tusk --version`
# with --build-arg TUSK_GIT_COMMIT=$(git rev-parse --short=10 HEAD).
FROM rust:1-bookworm AS build
ARG TUSK_GIT_COMMIT=unknown
ARG TUSK_GIT_DATE
WORKDIR /src
COPY . .
RUN TUSK_GIT_COMMIT="$TUSK_GIT_COMMIT" TUSK_GIT_DATE="${TUSK_GIT_DATE:-$(date -u +%F)}" \
    cargo build --release --locked && strip target/release/tusk

FROM debian:bookworm-slim
# CA certificates for S3, CloudFront and external link checks over HTTPS.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/tusk /usr/local/bin/tusk
WORKDIR /site
# tusk serve / tusk up listen on 127.0.0.1 by default; in a container pass
# `serve --bind 0.0.0.0` or `up --listen 0.0.0.0:8080` and publish the port.
EXPOSE 1111 8080
ENTRYPOINT ["tusk"]
CMD ["--help"]
