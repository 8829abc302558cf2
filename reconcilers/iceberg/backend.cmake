# Included by converge_backend(iceberg): manifest lists and manifests are Avro files, read (and, in
# the sandbox catalog, written) with Debian's Avro C library (libavro-dev, pkg-config avro-c).
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c)
set(BACKEND_EXTRA_DEPS PkgConfig::AVRO spdlog::spdlog)
