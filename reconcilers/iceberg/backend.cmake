# Included by converge_backend(iceberg): manifest lists and manifests are Avro files, read (and, in
# the sandbox catalog, written) with Debian's Avro C library (libavro-dev, pkg-config avro-c).
# zlib: deflate blocks are inflated by manifests_avro.cc (bounded) before Avro C sees them.
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c)
find_package(ZLIB REQUIRED)
set(BACKEND_EXTRA_DEPS PkgConfig::AVRO ZLIB::ZLIB spdlog::spdlog)
