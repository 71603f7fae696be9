# syntax=docker/dockerfile:1
#
# callflow's container image:
#   docker build -t callflow .
#   docker run --rm -p 3000:3000 -v "$PWD/flows:/flows:ro" callflow
#
# The build stage runs deploy/build.sh, the script CI runs before the
# tests, so the image is built by commands every green CI run has proved.
# The runtime stage is distroless: glibc, CA certificates and a non-root
# user, no shell; `callflow probe` is the HEALTHCHECK.

FROM rust:1.95-bookworm AS build
# npm, for the browser page's packages (Debian's, as CI installs them;
# unpinned, so the stable release's security updates come in).
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# deploy/build.sh, then the runtime's files in the layout the server looks for: the page's
# folder with node_modules/ beside it (see PUBLIC_DIR), and the example
# flows as the default /flows. The caches keep downloads and compiled
# dependencies between builds; the binary is copied out of them in the
# same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/root/.npm \
    --mount=type=cache,target=/src/target \
    bash deploy/build.sh \
    && mkdir -p /out/app/node_modules/@twilio /out/app/node_modules/@dagrejs \
    && cp target/release/callflow /out/callflow \
    && cp -r public /out/app/public \
    && cp -r node_modules/@twilio/voice-sdk /out/app/node_modules/@twilio/voice-sdk \
    && cp -r node_modules/@dagrejs/dagre /out/app/node_modules/@dagrejs/dagre \
    && cp -r flows /out/flows

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/callflow /usr/local/bin/callflow
COPY --from=build /out/app /app
COPY --from=build /out/flows /flows
WORKDIR /app
ENV HOST=0.0.0.0 \
    PORT=3000 \
    FLOWS_DIR=/flows \
    PUBLIC_DIR=/app/public
# distroless's nonroot user (65532); the files above stay root's, read-only.
USER 65532:65532
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/callflow", "probe", "/healthz"]
ENTRYPOINT ["/usr/local/bin/callflow"]
CMD ["serve"]
