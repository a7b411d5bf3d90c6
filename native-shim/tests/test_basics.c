/*
 * test_basics.c — errors, accounting, struct sizes, context options, argument checking, and
 * contexts not made by the shim.
 */
#include "test_support.h"

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

FS_TEST(struct_sizes_match_header)
{
    CHECK_EQ(FastSessionNative_GetStructSize(0), sizeof(fs_ctx_options));
    CHECK_EQ(FastSessionNative_GetStructSize(1), sizeof(fs_io_result));
    CHECK_EQ(FastSessionNative_GetStructSize(2), sizeof(fs_session_info));
    CHECK_EQ(FastSessionNative_GetStructSize(3), sizeof(fs_live_counts));
    CHECK_EQ(FastSessionNative_GetStructSize(0), 40);
    CHECK_EQ(FastSessionNative_GetStructSize(1), 40);
    CHECK_EQ(FastSessionNative_GetStructSize(2), 672);
    CHECK_EQ(FastSessionNative_GetStructSize(3), 32);
    CHECK_EQ(FastSessionNative_GetStructSize(4), -1);
    CHECK_EQ(FastSessionNative_GetStructSize(-1), -1);
}

FS_TEST(error_queue_exports)
{
    FastSessionNative_ErrClearError();
    CHECK_EQ(FastSessionNative_ErrGetError(), 0);

    // An argument error leaves a reason.
    CHECK(FastSessionNative_D2iSslSession(NULL, 0, 0) == NULL);
    uint64_t err = FastSessionNative_ErrGetError();
    CHECK(err != 0);
    CHECK_EQ(FastSessionNative_ErrGetError(), 0);
    char buf[256];
    int32_t len = FastSessionNative_ErrErrorStringN(err, buf, sizeof(buf));
    CHECK(len > 0);
    CHECK_EQ(len, strlen(buf));
    CHECK(strstr(buf, "passed invalid argument") != NULL);
    CHECK_EQ(FastSessionNative_ErrErrorStringN(err, buf, 8), 7);
    CHECK_EQ(strlen(buf), 7);
    CHECK_EQ(FastSessionNative_ErrErrorStringN(err, NULL, 8), 0);
    CHECK_EQ(FastSessionNative_ErrErrorStringN(err, buf, 0), 0);

    // Every call that can fail starts by clearing the queue: a stale error does not survive.
    CHECK(FastSessionNative_D2iSslSession(NULL, 0, 0) == NULL);
    fs_ctx_options co = fs_client_options(0);
    SSL_CTX* ctx = FastSessionNative_SslCtxCreate(&co, NULL);
    CHECK(ctx != NULL);
    CHECK_EQ(FastSessionNative_ErrGetError(), 0);
    CHECK(FastSessionNative_D2iSslSession(NULL, 0, 0) == NULL);
    FastSessionNative_ErrClearError();
    CHECK_EQ(FastSessionNative_ErrGetError(), 0);
    FastSessionNative_SslCtxFree(ctx);
}

FS_TEST(live_counts_follow_objects)
{
    fs_live_counts base = fs_counts();
    CHECK(base.contexts >= 0 && base.connections >= 0 && base.sessions >= 0 && base.certificates >= 0);
    FastSessionNative_GetLiveCounts(NULL); // ignored

    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    SSL_CTX* client_ctx = fs_make_ctx(&co);
    fs_live_counts now = fs_counts();
    CHECK_EQ(now.contexts, base.contexts + 2);
    CHECK(now.certificates >= base.certificates + 1); // the ephemeral certificate

    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    now = fs_counts();
    CHECK_EQ(now.connections, base.connections + 2);
    CHECK(fs_handshake(pair));
    now = fs_counts();
    CHECK(now.sessions >= base.sessions + 2);
    CHECK(now.certificates >= base.certificates + 2); // the client's parsed copy of the peer's

    fs_pair_free(pair);
    now = fs_counts();
    CHECK_EQ(now.connections, base.connections);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
    CHECK_BASELINE(base);
}

/* Objects that existed before the shim registered its counters are never counted, so freeing
 * them cannot push a count below zero. Meaningful when run alone (ctest runs each case in its
 * own process); the harness takes no baseline before this case. */
FS_TEST(before_init_objects_are_not_counted)
{
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(ctx);
    SSL_SESSION* session = SSL_SESSION_new();
    X509* cert = X509_new();
    CHECK(ctx != NULL && ssl != NULL && session != NULL && cert != NULL);

    fs_live_counts base = fs_counts();
    SSL_free(ssl);
    SSL_SESSION_free(session);
    X509_free(cert);
    SSL_CTX_free(ctx);
    fs_live_counts now = fs_counts();
    CHECK(now.contexts >= 0 && now.connections >= 0 && now.sessions >= 0 && now.certificates >= 0);
    CHECK(now.contexts <= base.contexts && now.sessions <= base.sessions);
}

FS_TEST(context_options_are_validated)
{
    uint64_t id = 123;
    CHECK(FastSessionNative_SslCtxCreate(NULL, &id) == NULL);
    CHECK_EQ(id, 0);
    CHECK(FastSessionNative_ErrGetError() != 0);

    fs_ctx_options o = fs_client_options(0);
    o.min_version = 0x0301; // TLS 1.0 is not offered
    CHECK(FastSessionNative_SslCtxCreate(&o, &id) == NULL);
    CHECK(FastSessionNative_ErrGetError() != 0);
    o = fs_client_options(0);
    o.num_tickets = -2;
    CHECK(FastSessionNative_SslCtxCreate(&o, NULL) == NULL);
    o = fs_client_options(0);
    o.session_timeout_seconds = -1;
    CHECK(FastSessionNative_SslCtxCreate(&o, NULL) == NULL);
    FastSessionNative_ErrClearError();

    // Zeros mean defaults (TLS 1.2..1.3); ids are unique and increasing; the ctx_id pointer is optional.
    fs_ctx_options zero;
    memset(&zero, 0, sizeof(zero));
    uint64_t a = 0, b = 0;
    SSL_CTX* ca = FastSessionNative_SslCtxCreate(&zero, &a);
    SSL_CTX* cb = FastSessionNative_SslCtxCreate(&zero, &b);
    SSL_CTX* cc = FastSessionNative_SslCtxCreate(&zero, NULL);
    CHECK(ca != NULL && cb != NULL && cc != NULL);
    CHECK(a != 0 && b > a);
    CHECK(FastSessionNative_SslCtxGetId(cc) > b);
    CHECK_EQ(FastSessionNative_SslCtxGetId(NULL), 0);
    CHECK_EQ(SSL_CTX_get_min_proto_version(ca), TLS1_2_VERSION);
    CHECK_EQ(SSL_CTX_get_max_proto_version(ca), TLS1_3_VERSION);
    CHECK_EQ(SSL_CTX_get_session_cache_mode(ca), SSL_SESS_CACHE_SERVER); // OpenSSL default, even on a client
    CHECK((SSL_CTX_get_options(ca) & SSL_OP_NO_TICKET) != 0);             // tickets_enabled = 0

    // Options land where they should.
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    so.session_cache_size = 77;
    so.session_timeout_seconds = 1234;
    so.num_tickets = 5;
    SSL_CTX* server = FastSessionNative_SslCtxCreate(&so, NULL);
    CHECK(server != NULL);
    CHECK_EQ(SSL_CTX_sess_get_cache_size(server), 77);
    CHECK_EQ(SSL_CTX_get_timeout(server), 1234);
    CHECK_EQ(SSL_CTX_get_num_tickets(server), 5);
    CHECK_EQ(SSL_CTX_get_session_cache_mode(server), SSL_SESS_CACHE_SERVER);
    CHECK((SSL_CTX_get_options(server) & SSL_OP_NO_TICKET) == 0);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* client = FastSessionNative_SslCtxCreate(&co, NULL);
    CHECK_EQ(SSL_CTX_get_session_cache_mode(client), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    CHECK(SSL_CTX_sess_get_new_cb(client) != NULL);

    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    FastSessionNative_SslCtxFree(ca);
    FastSessionNative_SslCtxFree(cb);
    FastSessionNative_SslCtxFree(cc);
    FastSessionNative_SslCtxFree(NULL);
    FastSessionNative_SslFree(NULL);
}

FS_TEST(connection_calls_check_arguments)
{
    fs_io_result r;
    uint8_t buf[16];
    CHECK(FastSessionNative_SslCreate(NULL, "x") == NULL);
    CHECK(FastSessionNative_ErrGetError() != 0);

    CHECK_EQ(FastSessionNative_SslDoHandshake(NULL, NULL, 0, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(r.ret, FS_ERR_ARGUMENT);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_SSL);
    CHECK(r.error_code != 0);
    CHECK_EQ(FastSessionNative_SslDoHandshake(NULL, NULL, 0, buf, sizeof(buf), NULL), FS_ERR_ARGUMENT);

    fs_ctx_options co = fs_client_options(0);
    SSL_CTX* ctx = fs_make_ctx(&co);
    SSL* ssl = FastSessionNative_SslCreate(ctx, NULL);
    CHECK(ssl != NULL);
    CHECK_EQ(FastSessionNative_SslDoHandshake(ssl, buf, -1, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslDoHandshake(ssl, NULL, 4, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslRead(ssl, NULL, 0, NULL, 4, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslRead(ssl, NULL, 0, buf, -4, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslRead(ssl, NULL, 0, buf, 4, buf, sizeof(buf), NULL), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslWrite(ssl, NULL, 3, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslWrite(ssl, buf, -3, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslWrite(ssl, buf, 3, buf, sizeof(buf), NULL), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslShutdown(NULL, buf, sizeof(buf), &r), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslShutdown(ssl, buf, sizeof(buf), NULL), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslSetSession(ssl, NULL), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();

    // Shutdown before the handshake is an OpenSSL error, reported like any other.
    CHECK(FastSessionNative_SslShutdown(ssl, buf, sizeof(buf), &r) < 0);
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_SSL);
    CHECK(r.error_code != 0);
    FastSessionNative_ErrClearError();

    // Getters on NULL are harmless.
    CHECK_EQ(FastSessionNative_SslSessionReused(NULL), 0);
    CHECK_EQ(FastSessionNative_SslVersion(NULL), 0);
    CHECK_EQ(FastSessionNative_SslIsInitFinished(NULL), 0);
    CHECK_EQ(FastSessionNative_SslGetShutdown(NULL), 0);
    CHECK_EQ(FastSessionNative_SslGetDroppedSessionCount(NULL), 0);
    CHECK(FastSessionNative_SslGet0PeerCertificate(NULL) == NULL);
    CHECK(FastSessionNative_SslGet1PeerCertificate(NULL) == NULL);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(NULL), 0);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(NULL), 0);
    CHECK_EQ(FastSessionNative_SslSessionGetProtocolVersion(NULL), 0);
    CHECK_EQ(FastSessionNative_SslSessionGetTime(NULL), 0);
    CHECK_EQ(FastSessionNative_SslSessionGetTimeout(NULL), 0);
    CHECK_EQ(FastSessionNative_SslSessionGetId(NULL, buf, sizeof(buf)), 0);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(NULL), 0);
    FastSessionNative_SslCtxFlushSessions(NULL, 0);
    CHECK_EQ(FastSessionNative_SslCtxUseEphemeralCertificate(NULL, "x", 1), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslCtxUseEphemeralCertificate(ctx, "", 1), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslCtxUseEphemeralCertificate(ctx, "x", 0), FS_ERR_ARGUMENT);
    FastSessionNative_ErrClearError();

    FastSessionNative_SslFree(ssl);
    FastSessionNative_SslCtxFree(ctx);
}

/* A context made with OpenSSL directly has id 0; connections on it still work, and sessions
 * bound to a shim context are refused on it. */
FS_TEST(foreign_context_has_no_id)
{
    SSL_CTX* foreign = SSL_CTX_new(TLS_client_method());
    CHECK(foreign != NULL);
    CHECK_EQ(FastSessionNative_SslCtxGetId(foreign), 0);
    fs_ctx_options so = fs_server_options(FS_TLS1_2);
    SSL_CTX* server_ctx = fs_make_ctx(&so);
    fs_ctx_options co = fs_client_options(FS_TLS1_2);
    SSL_CTX* client_ctx = fs_make_ctx(&co);

    fs_pair* pair = fs_pair_new(foreign, server_ctx, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* session = FastSessionNative_SslGet1Session(pair->client);
    CHECK(session != NULL);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(session), 0); // nothing to bind it to
    fs_shutdown(pair, 1);
    fs_pair_free(pair);

    // Unbound: SetSession on a shim context binds it.
    SSL* ssl = FastSessionNative_SslCreate(client_ctx, NULL);
    CHECK_EQ(FastSessionNative_SslSetSession(ssl, session), FS_OK);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(session), FastSessionNative_SslCtxGetId(client_ctx));
    FastSessionNative_SslFree(ssl);
    // Bound now: the foreign context's connection refuses it.
    ssl = FastSessionNative_SslCreate(foreign, NULL);
    CHECK_EQ(FastSessionNative_SslSetSession(ssl, session), FS_ERR_WRONG_CONTEXT);
    FastSessionNative_ErrClearError();
    FastSessionNative_SslFree(ssl);

    FastSessionNative_SslSessionFree(session);
    FastSessionNative_SslCtxFree(client_ctx);
    FastSessionNative_SslCtxFree(server_ctx);
    SSL_CTX_free(foreign);
}

#define FS_THREAD_CONTEXTS 200

static void* create_contexts(void* arg)
{
    uint64_t* ids = arg;
    fs_ctx_options co = fs_client_options(0);
    for (int i = 0; i < FS_THREAD_CONTEXTS; i++)
    {
        SSL_CTX* ctx = FastSessionNative_SslCtxCreate(&co, &ids[i]);
        if (ctx == NULL)
            ids[i] = 0;
        FastSessionNative_SslCtxFree(ctx);
    }
    return NULL;
}

/* Context ids and counts are atomic: two threads never get the same id. */
FS_TEST(context_ids_unique_across_threads)
{
    static uint64_t ids[2][FS_THREAD_CONTEXTS];
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        CHECK_EQ(pthread_create(&threads[t], NULL, create_contexts, ids[t]), 0);
    for (int t = 0; t < 2; t++)
        CHECK_EQ(pthread_join(threads[t], NULL), 0);
    for (int i = 0; i < FS_THREAD_CONTEXTS; i++)
    {
        CHECK(ids[0][i] != 0 && ids[1][i] != 0);
        for (int j = 0; j < FS_THREAD_CONTEXTS; j++)
            CHECK(ids[0][i] != ids[1][j]);
    }
}
