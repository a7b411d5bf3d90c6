/*
 * test_handshake.c — full handshakes over the memory-BIO engine: both protocol versions, data
 * both ways, batched reads, small out buffers (draining), shutdown, ALPN, SNI, peer certificates
 * and verification.
 */
#include "test_support.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

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

/* fs_io_result accounting with an out buffer smaller than a flight: pending_output says what
 * waits, SslDrainOutput delivers it (fs_handshake drains in out_cap pieces). */
FS_TEST(small_out_buffer_drains_pending_output)
{
    fs_ctx_options so = fs_server_options(0);
    fs_ctx_options co = fs_client_options(0);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    pair->out_cap = 64;

    // First flight by hand: the ClientHello is larger than 64 bytes.
    uint8_t out[64];
    fs_io_result r;
    CHECK_EQ(FastSessionNative_SslDoHandshake(pair->client, NULL, 0, out, sizeof(out), &r), -1);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_WANT_READ);
    CHECK_EQ(r.bytes_produced, 64);
    CHECK(r.pending_output > 0);
    CHECK_EQ(r.handshake_done, 0);
    CHECK_EQ(r.error_code, 0);
    CHECK_EQ(FastSessionNative_SslPendingOutput(pair->client), r.pending_output);
    memcpy(pair->to_server.data, out, 64);
    pair->to_server.len = 64;
    int32_t pending = r.pending_output;
    while (pending > 0)
    {
        int32_t n = FastSessionNative_SslDrainOutput(pair->client, out, sizeof(out));
        CHECK(n > 0 && n <= 64);
        memcpy(pair->to_server.data + pair->to_server.len, out, (size_t)n);
        pair->to_server.len += n;
        pending -= n;
        CHECK_EQ(FastSessionNative_SslPendingOutput(pair->client), pending);
    }
    CHECK_EQ(FastSessionNative_SslDrainOutput(pair->client, out, sizeof(out)), 0);
    CHECK_EQ(FastSessionNative_SslDrainOutput(pair->client, NULL, 10), 0);
    CHECK_EQ(FastSessionNative_SslDrainOutput(NULL, out, sizeof(out)), 0);
    CHECK_EQ(FastSessionNative_SslPendingOutput(NULL), 0);

    CHECK(fs_handshake(pair));

    // Data larger than one record, delivered through 64-byte pieces, read in one call.
    static uint8_t big[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    r = fs_write(pair, 1, big, sizeof(big));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.plaintext_bytes, sizeof(big));
    static uint8_t plain[sizeof(big)];
    r = fs_read(pair, 0, plain, sizeof(plain));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.plaintext_bytes, sizeof(big)); // three records, one call
    CHECK(memcmp(plain, big, sizeof(big)) == 0);

    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

/* Reads stop at the caller's capacity; the rest waits inside OpenSSL for the next call. A read
 * with no plaintext room processes post-handshake messages without consuming data. */
FS_TEST(read_respects_capacity_and_zero_capacity_processes_tickets)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(fs_handshake(pair));

    // Tickets and application data in the same delivery.
    fs_io_result r = fs_write(pair, 0, "abcdefghij", 10);
    CHECK_EQ(r.ret, 1);
    r = fs_read(pair, 1, NULL, 0);
    CHECK_EQ(r.ret, 1); // data is waiting, none consumed
    CHECK_EQ(r.plaintext_bytes, 0);
    CHECK_EQ(r.new_sessions, 2);

    uint8_t plain[4];
    r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.plaintext_bytes, 4);
    CHECK(memcmp(plain, "abcd", 4) == 0);
    r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.plaintext_bytes, 4);
    CHECK(memcmp(plain, "efgh", 4) == 0);
    r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.plaintext_bytes, 2);
    r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.ret, 0);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_WANT_READ);
    CHECK_EQ(r.plaintext_bytes, 0);

    // Data then close_notify in one delivery: the data comes first, ZERO_RETURN with it.
    r = fs_write(pair, 0, "xyz", 3);
    r = fs_shutdown(pair, 0);
    CHECK_EQ(r.ret, 0);
    uint8_t buf[64];
    r = fs_read(pair, 1, buf, sizeof(buf));
    CHECK_EQ(r.plaintext_bytes, 3);
    CHECK(memcmp(buf, "xyz", 3) == 0);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_ZERO_RETURN);
    CHECK_EQ(FastSessionNative_SslGetShutdown(pair->client), 2);
    r = fs_read(pair, 1, buf, sizeof(buf));
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_ZERO_RETURN);
    r = fs_shutdown(pair, 1);
    CHECK_EQ(r.ret, 1);

    // Zero-length write is a no-op success.
    r = fs_write(pair, 1, NULL, 0);
    CHECK_EQ(r.ret, 1);
    CHECK_EQ(r.bytes_produced, 0);

    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

/* ALPN: the server's preference wins; both sides and the session report it. */
FS_TEST(alpn_negotiated_and_reported_in_session_info)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    static const uint8_t client_protos[] = "\x02h2\x08http/1.1";
    static const uint8_t server_protos[] = "\x08http/1.1\x02h2";
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(client_ctx, client_protos, sizeof(client_protos) - 1), FS_OK);
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(server_ctx, server_protos, sizeof(server_protos) - 1), FS_OK);

    // Malformed wire lists are refused.
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(client_ctx, (const uint8_t*)"\x05h2", 3), FS_ERR_ARGUMENT);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(client_ctx, (const uint8_t*)"\x00", 1), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(server_ctx, NULL, 5), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(NULL, client_protos, 3), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();

    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(fs_handshake(pair));
    uint8_t alpn[FS_ALPN_MAX];
    CHECK_EQ(FastSessionNative_SslGet0AlpnSelected(pair->client, alpn, sizeof(alpn)), 8);
    CHECK(memcmp(alpn, "http/1.1", 8) == 0);
    CHECK_EQ(FastSessionNative_SslGet0AlpnSelected(pair->server, alpn, sizeof(alpn)), 8);
    CHECK_EQ(FastSessionNative_SslGet0AlpnSelected(pair->client, alpn, 4), FS_ERR_BUFFER_TOO_SMALL);

    uint8_t plain[16];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK(r.new_sessions > 0);
    SSL_SESSION* session = NULL;
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, &session, 1), 1);
    fs_session_info info;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(session, &info), FS_OK);
    CHECK_EQ(info.alpn_length, 8);
    CHECK(memcmp(info.alpn, "http/1.1", 8) == 0);
    FastSessionNative_SslSessionFree(session);
    fs_pair_free(pair);

    // No overlap: the handshake goes on without ALPN.
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(server_ctx, (const uint8_t*)"\x03" "foo", 4), FS_OK);
    pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslGet0AlpnSelected(pair->client, alpn, sizeof(alpn)), 0);
    fs_pair_free(pair);

    // Cleared lists: no ALPN either.
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(server_ctx, NULL, 0), FS_OK);
    CHECK_EQ(FastSessionNative_SslCtxSetAlpnProtos(client_ctx, NULL, 0), FS_OK);
    pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslGet0AlpnSelected(pair->server, alpn, sizeof(alpn)), 0);
    CHECK_EQ(FastSessionNative_SslGet0AlpnSelected(NULL, alpn, sizeof(alpn)), 0);
    fs_pair_free(pair);

    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

/* SNI, cipher and the rest of the info snapshot, on both versions and both sides. */
FS_TEST(session_info_reports_sni_cipher_and_times)
{
    for (int v = 0; v < 2; v++)
    {
        int32_t version = v == 0 ? FS_TLS1_2 : FS_TLS1_3;
        fs_ctx_options so = fs_server_options(version);
        fs_ctx_options co = fs_client_options(version);
        SSL_CTX* server_ctx = fs_make_ctx(&so);
        SSL_CTX* client_ctx = fs_make_ctx(&co);
        fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "sni.example.test");
        CHECK(fs_handshake(pair));
        uint8_t plain[16];
        fs_read(pair, 1, plain, sizeof(plain));
        SSL_SESSION* sessions[4];
        int32_t n = FastSessionNative_SslTakeNewSessions(pair->client, sessions, 4);
        CHECK(n >= 1);

        fs_session_info info;
        memset(&info, 0xAB, sizeof(info));
        CHECK_EQ(FastSessionNative_SslSessionGetInfo(sessions[0], &info), FS_OK);
        CHECK_EQ(info.protocol_version, version);
        CHECK_EQ(info.sni_length, 16);
        CHECK(strcmp(info.sni, "sni.example.test") == 0);
        CHECK_EQ(info.alpn_length, 0);
        CHECK(info.cipher_id != 0);
        CHECK_EQ(info.cipher_name_length, (int32_t)strlen(info.cipher_name));
        if (version == FS_TLS1_3)
        {
            CHECK_EQ(info.cipher_id, 0x1302); // TLS_AES_256_GCM_SHA384, OpenSSL's first choice
            CHECK(strcmp(info.cipher_name, "TLS_AES_256_GCM_SHA384") == 0);
        }
        else
        {
            CHECK_EQ(info.cipher_id, 0xC02C); // ECDHE-ECDSA-AES256-GCM-SHA384 with a P-256 key
            CHECK(strcmp(info.cipher_name, "ECDHE-ECDSA-AES256-GCM-SHA384") == 0);
        }
        CHECK_EQ(info.resumable, 1);
        CHECK(info.time > 1600000000);
        CHECK_EQ(info.time, FastSessionNative_SslSessionGetTime(sessions[0]));
        CHECK_EQ(info.timeout, FastSessionNative_SslSessionGetTimeout(sessions[0]));
        CHECK(info.timeout > 0);
        CHECK_EQ(info.max_early_data, 0);
        CHECK_EQ(info.context_id, FastSessionNative_SslCtxGetId(client_ctx));
        uint8_t id[FS_SESSION_ID_MAX];
        CHECK_EQ(FastSessionNative_SslSessionGetId(sessions[0], id, sizeof(id)), info.id_length);
        CHECK(memcmp(id, info.id, (size_t)info.id_length) == 0);

        // The server sees the SNI too.
        SSL_SESSION* server_session = FastSessionNative_SslGet0Session(pair->server);
        CHECK_EQ(FastSessionNative_SslSessionGetInfo(server_session, &info), FS_OK);
        CHECK(strcmp(info.sni, "sni.example.test") == 0);
        CHECK_EQ(FastSessionNative_SslSessionGetInfo(NULL, &info), FS_ERR_ARGUMENT);
        CHECK_EQ(FastSessionNative_SslSessionGetInfo(server_session, NULL), FS_ERR_ARGUMENT);

        for (int32_t i = 0; i < n; i++)
            FastSessionNative_SslSessionFree(sessions[i]);
        fs_pair_free(pair);
        FastSessionNative_SslCtxFree(client_ctx);
        FastSessionNative_SslCtxFree(server_ctx);
    }
}

/* The second ownership pair: get0 borrows the peer certificate, get1 owns a reference. */
FS_TEST(peer_certificate_get0_get1)
{
    fs_ctx_options so = fs_server_options(0);
    fs_ctx_options co = fs_client_options(0);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(FastSessionNative_SslGet1PeerCertificate(pair->client) == NULL);
    CHECK(fs_handshake(pair));

    CHECK(FastSessionNative_SslGet0PeerCertificate(pair->server) == NULL); // no client certificate
    X509* borrowed = FastSessionNative_SslGet0PeerCertificate(pair->client);
    CHECK(borrowed != NULL);
    fs_live_counts before = fs_counts();
    X509* owned = FastSessionNative_SslGet1PeerCertificate(pair->client);
    CHECK(owned == borrowed);
    CHECK_BASELINE(before); // a reference, not a copy
    CHECK_EQ(FastSessionNative_X509UpRef(owned), 1);
    FastSessionNative_X509Free(owned);
    CHECK_EQ(FastSessionNative_X509UpRef(NULL), 0);
    FastSessionNative_X509Free(NULL);

    char subject[256];
    CHECK_EQ(FastSessionNative_X509GetSubjectName(owned, subject, sizeof(subject)), 13);
    CHECK(strcmp(subject, "/CN=localhost") == 0);
    CHECK_EQ(FastSessionNative_X509GetSubjectName(owned, subject, 5), 4); // truncated, terminated
    CHECK_EQ(FastSessionNative_X509GetSubjectName(NULL, subject, sizeof(subject)), 0);

    int32_t needed = 0;
    CHECK_EQ(FastSessionNative_I2dX509(owned, NULL, 0, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 100);
    uint8_t* der = malloc((size_t)needed);
    CHECK(der != NULL);
    CHECK_EQ(FastSessionNative_I2dX509(owned, der, needed, &needed), needed);
    CHECK_EQ(der[0], 0x30);
    free(der);

    // The owned reference outlives the connection.
    fs_shutdown(pair, 1);
    fs_pair_free(pair);
    CHECK_EQ(FastSessionNative_X509GetSubjectName(owned, subject, sizeof(subject)), 13);
    FastSessionNative_X509Free(owned);

    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

/* verify_peer: fails against an unknown certificate, succeeds once it is trusted. */
FS_TEST(verify_peer_needs_trusted_certificate)
{
    fs_ctx_options so = fs_server_options(0);
    fs_ctx_options co = fs_client_options(0);
    co.verify_peer = 1;
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);

    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(!fs_handshake(pair));
    char reason[256];
    uint64_t err = FastSessionNative_ErrGetError();
    CHECK(err != 0);
    CHECK(FastSessionNative_ErrErrorStringN(err, reason, sizeof(reason)) > 0);
    CHECK(strstr(reason, "certificate verify failed") != NULL);
    FastSessionNative_ErrClearError();
    fs_pair_free(pair);

    int32_t len = 0;
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(server_ctx, NULL, 0, &len), FS_ERR_BUFFER_TOO_SMALL);
    uint8_t* pem = malloc((size_t)len);
    CHECK(pem != NULL);
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(server_ctx, pem, len, NULL), len);
    CHECK_EQ(FastSessionNative_SslCtxAddTrustedCertificatePem(client_ctx, pem, len), FS_OK);
    CHECK_EQ(FastSessionNative_SslCtxAddTrustedCertificatePem(client_ctx, (const uint8_t*)"junk", 4), FS_ERR_OPENSSL);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_EQ(FastSessionNative_SslCtxAddTrustedCertificatePem(client_ctx, NULL, 4), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();
    free(pem);

    pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(fs_handshake(pair));
    fs_pair_free(pair);

    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

/* Certificate and key from PEM bytes (cert + chain, key), and a mismatched pair refused. */
FS_TEST(certificate_and_key_from_pem)
{
    fs_ctx_options so = fs_server_options(0);
    SSL_CTX* donor = fs_make_ctx(&so);
    int32_t cert_len = 0;
    FastSessionNative_SslCtxGetCertificatePem(donor, NULL, 0, &cert_len);
    uint8_t* cert = malloc((size_t)cert_len * 2);
    CHECK(cert != NULL);
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(donor, cert, cert_len, NULL), cert_len);
    memcpy(cert + cert_len, cert, (size_t)cert_len); // the same certificate again as a "chain"

    // The donor's key, through OpenSSL directly (the shim never exports private keys).
    BIO* bio = BIO_new(BIO_s_mem());
    CHECK(bio != NULL);
    CHECK(PEM_write_bio_PrivateKey(bio, SSL_CTX_get0_privatekey(donor), NULL, NULL, 0, NULL, NULL));
    char* key = NULL;
    long key_len = BIO_get_mem_data(bio, &key);

    SSL_CTX* server_ctx = FastSessionNative_SslCtxCreate(&so, NULL);
    CHECK(server_ctx != NULL);
    int32_t none = -1;
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(server_ctx, NULL, 0, &none), FS_ERR_ARGUMENT);
    CHECK_EQ(none, 0);
    FastSessionNative_ErrClearError();
    CHECK_EQ(FastSessionNative_SslCtxUseCertificateAndKeyPem(server_ctx, cert, cert_len * 2,
        (const uint8_t*)key, (int32_t)key_len), FS_OK);

    fs_ctx_options co = fs_client_options(0);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    CHECK(fs_handshake(pair));
    fs_pair_free(pair);

    // Another key: SSL_CTX_check_private_key refuses it.
    SSL_CTX* other = fs_make_ctx(&so);
    BIO* other_bio = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PrivateKey(other_bio, SSL_CTX_get0_privatekey(other), NULL, NULL, 0, NULL, NULL));
    char* other_key = NULL;
    long other_len = BIO_get_mem_data(other_bio, &other_key);
    SSL_CTX* mismatched = FastSessionNative_SslCtxCreate(&so, NULL);
    CHECK_EQ(FastSessionNative_SslCtxUseCertificateAndKeyPem(mismatched, cert, cert_len,
        (const uint8_t*)other_key, (int32_t)other_len), FS_ERR_OPENSSL);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_EQ(FastSessionNative_SslCtxUseCertificateAndKeyPem(mismatched, (const uint8_t*)"x", 1,
        (const uint8_t*)other_key, (int32_t)other_len), FS_ERR_OPENSSL);
    CHECK_EQ(FastSessionNative_SslCtxUseCertificateAndKeyPem(mismatched, NULL, 0, NULL, 0), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();

    FastSessionNative_SslCtxFree(mismatched);
    BIO_free(other_bio);
    FastSessionNative_SslCtxFree(other);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
    BIO_free(bio);
    free(cert);
    FastSessionNative_SslCtxFree(donor);
}

/* S10: SslClear makes the object reusable: BIOs and ring emptied, no session kept, new SNI. */
FS_TEST(clear_reuses_connection_objects)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "first.test");
    CHECK(fs_handshake(pair));
    uint8_t plain[16];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.new_sessions, 2);
    SSL_SESSION* ticket = NULL;
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, &ticket, 1), 1);
    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    CHECK(FastSessionNative_SslGet0Session(pair->client) != NULL);

    // Leave unread bytes in a BIO and output pending, then clear both.
    fs_write(pair, 0, "x", 1);
    CHECK_EQ(FastSessionNative_SslClear(pair->client, "second.test"), FS_OK);
    CHECK_EQ(FastSessionNative_SslClear(pair->server, NULL), FS_OK);
    CHECK_EQ(FastSessionNative_SslClear(NULL, NULL), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();
    pair->to_client.len = pair->to_server.len = 0;
    CHECK(FastSessionNative_SslGet0Session(pair->client) == NULL);
    CHECK_EQ(FastSessionNative_SslPendingOutput(pair->client), 0);
    CHECK_EQ(FastSessionNative_SslIsInitFinished(pair->client), 0);
    CHECK_EQ(FastSessionNative_SslGetShutdown(pair->client), 0);
    CHECK_EQ(FastSessionNative_SslGetDroppedSessionCount(pair->client), 0);
    SSL_SESSION* none = NULL;
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, &none, 1), 0);

    // Resume explicitly on the reused objects.
    CHECK_EQ(FastSessionNative_SslSetSession(pair->client, ticket), FS_OK);
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslSessionReused(pair->client), 1);
    r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK(r.new_sessions > 0);
    fs_session_info info;
    SSL_SESSION* fresh = NULL;
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, &fresh, 1), 1);
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(fresh, &info), FS_OK);
    // A resumed TLS 1.3 session keeps the SNI of the original one.
    CHECK(strcmp(info.sni, "first.test") == 0);
    FastSessionNative_SslSessionFree(fresh);

    // Cleared without shutdown: a full handshake again, with the new name.
    CHECK_EQ(FastSessionNative_SslClear(pair->client, "third.test"), FS_OK);
    CHECK_EQ(FastSessionNative_SslClear(pair->server, NULL), FS_OK);
    pair->to_client.len = pair->to_server.len = 0;
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslSessionReused(pair->client), 0);
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(FastSessionNative_SslGet0Session(pair->server), &info), FS_OK);
    CHECK(strcmp(info.sni, "third.test") == 0);

    FastSessionNative_SslSessionFree(ticket);
    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}

/* Protocol mismatch: the failure is reported in the result and the error queue. */
FS_TEST(version_mismatch_fails_with_reason)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_2);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");

    uint8_t out[4096];
    fs_io_result r;
    FastSessionNative_SslDoHandshake(pair->client, NULL, 0, out, sizeof(out), &r);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_WANT_READ);
    int32_t hello = r.bytes_produced;
    uint8_t alert[4096];
    FastSessionNative_SslDoHandshake(pair->server, out, hello, alert, sizeof(alert), &r);
    CHECK(r.ret <= 0);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_SSL);
    CHECK(r.error_code != 0);
    CHECK(r.bytes_produced > 0); // the alert
    char reason[256];
    CHECK(FastSessionNative_ErrErrorStringN(r.error_code, reason, sizeof(reason)) > 0);
    CHECK(strstr(reason, "unsupported protocol") != NULL);

    FastSessionNative_SslDoHandshake(pair->client, alert, r.bytes_produced, out, sizeof(out), &r);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_SSL);
    CHECK(r.error_code != 0);
    CHECK_EQ(r.handshake_done, 0);
    FastSessionNative_ErrClearError();

    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
}
