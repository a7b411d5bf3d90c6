/*
 * test_verify.c — peer verification (verify.c) and the server side of the session API (server.c)
 * over real handshakes: recorded errors and classes, the name check, the paused verdict
 * (SSL_set_retry_verify), SNI contexts, per-connection ticket counts and SSL_SESSION_dup.
 */
#include "test_support.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

static SSL_CTX* verifying_client(int32_t flags, SSL_CTX* trust_from)
{
    fs_ctx_options o = fs_client_options(0);
    SSL_CTX* ctx = fs_make_ctx(&o);
    if (trust_from != NULL)
    {
        uint8_t pem[8192];
        int32_t needed = 0;
        int32_t n = FastSessionNative_SslCtxGetCertificatePem(trust_from, pem, (int32_t)sizeof(pem), &needed);
        CHECK(n > 0);
        CHECK_EQ(FastSessionNative_SslCtxAddTrustedCertificatePem(ctx, pem, n), FS_OK);
    }
    CHECK_EQ(FastSessionNative_SslCtxSetVerify(ctx, flags), FS_OK);
    return ctx;
}

/* One client step, answering a paused verification with `decision` (1 accept, 0 reject). */
static fs_io_result client_step(fs_pair* pair, int decision, int* paused)
{
    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);
    fs_io_result r;
    FastSessionNative_SslDoHandshake(pair->client, pair->to_client.data, pair->to_client.len, out, pair->out_cap, &r);
    pair->to_client.len = 0;
    while (r.ret <= 0 && r.ssl_error == FS_SSL_ERROR_WANT_RETRY_VERIFY)
    {
        (*paused)++;
        int32_t error = -1, depth = -2, policy = -1;
        CHECK_EQ(FastSessionNative_SslGetVerifyStatus(pair->client, &error, &depth, &policy), 2);
        CHECK_EQ(FastSessionNative_SslSetVerifyDecision(pair->client, decision), FS_OK);
        memcpy(pair->to_server.data + pair->to_server.len, out, (size_t)r.bytes_produced);
        pair->to_server.len += r.bytes_produced;
        FastSessionNative_SslDoHandshake(pair->client, NULL, 0, out, pair->out_cap, &r);
    }
    memcpy(pair->to_server.data + pair->to_server.len, out, (size_t)r.bytes_produced);
    pair->to_server.len += r.bytes_produced;
    free(out);
    return r;
}

static fs_io_result server_step(fs_pair* pair)
{
    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);
    fs_io_result r;
    FastSessionNative_SslDoHandshake(pair->server, pair->to_server.data, pair->to_server.len, out, pair->out_cap, &r);
    pair->to_server.len = 0;
    memcpy(pair->to_client.data + pair->to_client.len, out, (size_t)r.bytes_produced);
    pair->to_client.len += r.bytes_produced;
    free(out);
    return r;
}

FS_TEST(verify_self_signed_server_fails_recording_error_depth_and_chain)
{
    fs_live_counts before = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    SSL_CTX* server = fs_make_ctx(&so);
    SSL_CTX* client = verifying_client(FS_VERIFY_PEER | FS_VERIFY_CHECK_NAME, NULL);
    fs_pair* pair = fs_pair_new(client, server, "localhost");

    CHECK_EQ(fs_handshake(pair), 0);
    int32_t error = 0, depth = 0, policy = 0;
    CHECK_EQ(FastSessionNative_SslGetVerifyStatus(pair->client, &error, &depth, &policy), 1);
    CHECK_EQ(error, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    CHECK_EQ(depth, 0);
    CHECK_EQ(policy, FS_VERIFY_POLICY_CHAIN_ERRORS);
    CHECK_EQ(FastSessionNative_SslGetVerifyResult(pair->client), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    CHECK_EQ(FastSessionNative_SslGetVerifyChainLength(pair->client), 1);
    int32_t needed = 0;
    CHECK_EQ(FastSessionNative_SslGetVerifyChainCertificate(pair->client, 0, NULL, 0, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 100);
    CHECK_EQ(FastSessionNative_SslGetVerifyChainCertificate(pair->client, 1, NULL, 0, &needed), FS_ERR_ARGUMENT);
    char names[256];
    CHECK(FastSessionNative_SslGetVerifyPeerNames(pair->client, names, (int32_t)sizeof(names)) > 0);
    CHECK(strstr(names, "DNS:localhost") != NULL);
    FastSessionNative_ErrClearError();

    // Reset forgets what was recorded.
    CHECK_EQ(FastSessionNative_SslClear(pair->client, NULL), FS_OK);
    CHECK_EQ(FastSessionNative_SslGetVerifyStatus(pair->client, NULL, NULL, NULL), 0);
    CHECK_EQ(FastSessionNative_SslGetVerifyChainLength(pair->client), 0);

    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}

FS_TEST(verify_trusted_certificate_with_wrong_name_is_a_name_mismatch)
{
    fs_live_counts before = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_2);
    SSL_CTX* server = fs_make_ctx(&so);
    SSL_CTX* client = verifying_client(FS_VERIFY_PEER | FS_VERIFY_CHECK_NAME, server);

    fs_pair* good = fs_pair_new(client, server, "localhost");
    CHECK_EQ(fs_handshake(good), 1);
    CHECK_EQ(FastSessionNative_SslGetVerifyResult(good->client), X509_V_OK);
    fs_pair_free(good);

    fs_pair* bad = fs_pair_new(client, server, "other.example");
    CHECK_EQ(fs_handshake(bad), 0);
    int32_t error = 0, depth = 0, policy = 0;
    CHECK_EQ(FastSessionNative_SslGetVerifyStatus(bad->client, &error, &depth, &policy), 1);
    CHECK_EQ(error, X509_V_ERR_HOSTNAME_MISMATCH);
    CHECK_EQ(policy, FS_VERIFY_POLICY_NAME_MISMATCH);
    FastSessionNative_ErrClearError();
    fs_pair_free(bad);

    // An IP literal is checked against iPAddress entries (this certificate has none) and not sent as SNI.
    fs_pair* ip = fs_pair_new(client, server, "127.0.0.1");
    CHECK_EQ(fs_handshake(ip), 0);
    CHECK_EQ(FastSessionNative_SslGetVerifyResult(ip->client), X509_V_ERR_IP_ADDRESS_MISMATCH);
    char sni[64];
    CHECK_EQ(FastSessionNative_SslGetServername(ip->server, sni, (int32_t)sizeof(sni)), 0);
    FastSessionNative_ErrClearError();
    fs_pair_free(ip);

    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}

static void deferred_case(int32_t version, int decision)
{
    fs_ctx_options so = fs_server_options(version);
    SSL_CTX* server = fs_make_ctx(&so);
    SSL_CTX* client = verifying_client(FS_VERIFY_PEER | FS_VERIFY_CHECK_NAME | FS_VERIFY_DEFER, NULL);
    fs_pair* pair = fs_pair_new(client, server, "localhost");

    int paused = 0;
    int ok = 0;
    for (int round = 0; round < 8 && !ok; round++)
    {
        fs_io_result c = client_step(pair, decision, &paused);
        if (c.ret <= 0 && c.ssl_error != FS_SSL_ERROR_WANT_READ)
            break;
        fs_io_result s = server_step(pair);
        ok = FastSessionNative_SslIsInitFinished(pair->client) && FastSessionNative_SslIsInitFinished(pair->server);
        if (s.ret <= 0 && s.ssl_error != FS_SSL_ERROR_WANT_READ)
            break;
    }
    CHECK_EQ(paused, 1);
    CHECK_EQ(ok, decision);
    // Accepted or not, OpenSSL's own verdict is kept.
    CHECK_EQ(FastSessionNative_SslGetVerifyResult(pair->client), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    CHECK_EQ(FastSessionNative_SslSetVerifyDecision(pair->client, 1), FS_ERR_ARGUMENT); // nothing waits any more
    FastSessionNative_ErrClearError();
    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
}

FS_TEST(verify_deferred_pauses_once_and_applies_the_callers_verdict)
{
    fs_live_counts before = fs_counts();
    deferred_case(FS_TLS1_2, 1);
    deferred_case(FS_TLS1_2, 0);
    deferred_case(FS_TLS1_3, 1);
    deferred_case(FS_TLS1_3, 0);
    CHECK_BASELINE(before);
}

FS_TEST(server_name_context_switch_num_tickets_and_session_dup)
{
    fs_live_counts before = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    SSL_CTX* server = fs_make_ctx(&so);
    SSL_CTX* child = fs_make_ctx(&so);
    CHECK_EQ(FastSessionNative_SslCtxAddServerNameContext(server, "*.example", child), FS_OK);
    CHECK_EQ(FastSessionNative_SslCtxAddServerNameContext(server, "", child), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslCtxAddServerNameContext(server, "x", server), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();
    uint64_t parent_id = FastSessionNative_SslCtxGetId(server);
    CHECK_EQ(FastSessionNative_SslCtxGetId(child), parent_id);
    FastSessionNative_SslCtxFree(child); // the parent keeps its reference

    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* client = fs_make_ctx(&co);
    fs_pair* pair = fs_pair_new(client, server, "a.example");
    CHECK_EQ(FastSessionNative_SslGetNumTickets(pair->server), 2);
    CHECK_EQ(FastSessionNative_SslSetNumTickets(pair->server, 3), FS_OK);
    CHECK_EQ(FastSessionNative_SslSetNumTickets(pair->server, -1), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();
    CHECK_EQ(fs_handshake(pair), 1);
    fs_read(pair, 1, NULL, 0);
    char name[64];
    CHECK_EQ(FastSessionNative_SslGetServername(pair->server, name, (int32_t)sizeof(name)), 9);
    CHECK(memcmp(name, "a.example", 9) == 0);

    SSL_SESSION* sessions[8];
    int32_t n = fs_take_all(pair->client, sessions, 8);
    CHECK_EQ(n, 3);
    SSL_SESSION* copy = FastSessionNative_SslSessionDup(sessions[0]);
    CHECK(copy != NULL && copy != sessions[0]);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(copy), FastSessionNative_SslSessionGetContextId(sessions[0]));
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(copy), 1);
    FastSessionNative_SslSessionFree(copy);
    for (int32_t i = 0; i < n; i++)
        FastSessionNative_SslSessionFree(sessions[i]);

    fs_pair_free(pair);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}
