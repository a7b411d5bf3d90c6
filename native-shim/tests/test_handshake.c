/*
 * test_handshake.c — full handshakes over the memory-BIO engine: both protocol versions, data
 * both ways, batched reads, small out buffers (draining), shutdown, ALPN, SNI, peer certificates
 * and verification.
 */
#include "test_support.h"

static void handshake_and_echo(int32_t version)
{
    fs_ctx_options so = fs_server_options(version);
    fs_ctx_options co = fs_client_options(version);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);

    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK_EQ(FastSessionNative_SslIsInitFinished(pair->client), 0);
    CHECK_EQ(FastSessionNative_SslGet0PeerCertificate(pair->client) == NULL, 1);
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslVersion(pair->client), version);
    CHECK_EQ(FastSessionNative_SslVersion(pair->server), version);
    CHECK_EQ(FastSessionNative_SslSessionReused(pair->client), 0);

    const char msg[] = "hello from the client";
    fs_io_result r = fs_write(pair, 1, msg, (int32_t)sizeof(msg));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.plaintext_bytes, sizeof(msg));
    CHECK(r.bytes_produced > (int32_t)sizeof(msg));

    uint8_t plain[256];
    r = fs_read(pair, 0, plain, sizeof(plain));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_NONE);
    CHECK_EQ(r.plaintext_bytes, sizeof(msg));
    CHECK(memcmp(plain, msg, sizeof(msg)) == 0);

    r = fs_write(pair, 0, plain, r.plaintext_bytes);
    CHECK_EQ(r.ret, 1);
    r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.plaintext_bytes, sizeof(msg));
    CHECK(memcmp(plain, msg, sizeof(msg)) == 0);

    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

FS_TEST(tls12_full_handshake_and_echo)
{
    handshake_and_echo(FS_TLS1_2);
}

FS_TEST(tls13_full_handshake_and_echo)
{
    handshake_and_echo(FS_TLS1_3);
}
