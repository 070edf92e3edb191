# syntax=docker/dockerfile:1

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that they are cached apart from the sources.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src examples/bench tests/api \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > examples/bench/main.rs && echo '' > tests/api/main.rs \
    && cargo build --release --locked --bin idc-scim \
    && rm -rf src examples tests
COPY askama.toml ./
COPY src src
COPY migrations migrations
COPY examples examples
COPY tests tests
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin idc-scim

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin idc-scim \
    && mkdir -p /data && chown idc-scim /data
COPY --from=build /src/target/release/idc-scim /usr/local/bin/idc-scim
USER idc-scim
WORKDIR /data
# Listening on every address, the AWS APIs verify signatures (the default off loopback). Give
# secrets as files (IDC_SCIM_TOKEN_FILE, IDC_SCIM_ADMIN_TOKEN_FILE, ...), not as arguments.
ENV IDC_SCIM_LISTEN=0.0.0.0:8080 \
    IDC_SCIM_DATABASE_URL=sqlite:///data/idc-scim.db \
    IDC_SCIM_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/idc-scim"]
CMD ["serve"]
