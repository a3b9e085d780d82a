# everynode as a static musl binary on distroless/static, running as non-root.
# Build: docker build -t ghcr.io/everynode/everynode:0.1.0 .   (then see deploy/)

FROM rust:1.89-alpine AS build
# musl-dev: the C toolchain bundled SQLite and ring compile against; alpine's Rust targets musl
# and links statically by default (crt-static).
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin everynode \
 && cp target/release/everynode /everynode

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /everynode /usr/local/bin/everynode
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/everynode"]
CMD ["controller", "--leader-elect"]
