/*
 * test_support.c — the harness behind test_support.h and the test runner's main().
 *
 *   fs_shim_tests                  runs every case (each with its own live-count baseline)
 *   fs_shim_tests NAME             runs one case (what ctest does)
 *   fs_shim_tests --expect-count NAME...  checks the registered cases are exactly NAME...
 */
#include "test_support.h"

#include <openssl/err.h>

#define FS_MAX_TESTS 128

static struct {
    const char* name;
    fs_test_fn fn;
} g_tests[FS_MAX_TESTS];
static int g_test_count;
static const char* g_current;

void fs_test_register(const char* name, fs_test_fn fn)
{
    if (g_test_count == FS_MAX_TESTS)
    {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    g_tests[g_test_count].name = name;
    g_tests[g_test_count].fn = fn;
    g_test_count++;
}

static void dump_errors(void)
{
    unsigned long err;
    char buf[256];
    while ((err = ERR_get_error()) != 0)
    {
        ERR_error_string_n(err, buf, sizeof(buf));
        fprintf(stderr, "  openssl: %s\n", buf);
    }
}

void fs_test_fail(const char* file, int line, const char* what)
{
    fprintf(stderr, "FAIL %s: %s:%d: %s\n", g_current != NULL ? g_current : "?", file, line, what);
    dump_errors();
    exit(1);
}

fs_live_counts fs_counts(void)
{
    fs_live_counts counts;
    memset(&counts, 0xFF, sizeof(counts));
    FastSessionNative_GetLiveCounts(&counts);
    return counts;
}

void fs_check_counts_equal(const fs_live_counts* before, const char* file, int line)
{
    fs_live_counts now = fs_counts();
    if (now.contexts != before->contexts || now.connections != before->connections ||
        now.sessions != before->sessions || now.certificates != before->certificates)
    {
        fprintf(stderr, "  live counts: contexts %lld->%lld connections %lld->%lld sessions %lld->%lld certificates %lld->%lld\n",
            (long long)before->contexts, (long long)now.contexts,
            (long long)before->connections, (long long)now.connections,
            (long long)before->sessions, (long long)now.sessions,
            (long long)before->certificates, (long long)now.certificates);
        fs_test_fail(file, line, "live counts back to baseline");
    }
}

fs_ctx_options fs_server_options(int32_t version)
{
    fs_ctx_options o;
    memset(&o, 0, sizeof(o));
    o.is_server = 1;
    o.min_version = version != 0 ? version : FS_TLS1_2;
    o.max_version = version != 0 ? version : FS_TLS1_3;
    o.tickets_enabled = 1;
    o.num_tickets = -1;
    return o;
}

fs_ctx_options fs_client_options(int32_t version)
{
    fs_ctx_options o;
    memset(&o, 0, sizeof(o));
    o.min_version = version != 0 ? version : FS_TLS1_2;
    o.max_version = version != 0 ? version : FS_TLS1_3;
    o.tickets_enabled = 1;
    o.num_tickets = -1;
    o.capture_new_sessions = 1;
    return o;
}

SSL_CTX* fs_make_ctx(const fs_ctx_options* options)
{
    uint64_t id = 0;
    SSL_CTX* ctx = FastSessionNative_SslCtxCreate(options, &id);
    CHECK(ctx != NULL);
    CHECK(id != 0);
    CHECK_EQ(FastSessionNative_SslCtxGetId(ctx), id);
    if (options->is_server)
        CHECK_EQ(FastSessionNative_SslCtxUseEphemeralCertificate(ctx, "localhost", 1), FS_OK);
    return ctx;
}

fs_pair* fs_pair_new(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const char* sni)
{
    fs_pair* pair = calloc(1, sizeof(*pair));
    CHECK(pair != NULL);
    pair->client = FastSessionNative_SslCreate(client_ctx, sni);
    pair->server = FastSessionNative_SslCreate(server_ctx, NULL);
    CHECK(pair->client != NULL);
    CHECK(pair->server != NULL);
    pair->out_cap = FS_INBOX_CAP;
    return pair;
}

void fs_pair_free(fs_pair* pair)
{
    if (pair == NULL)
        return;
    FastSessionNative_SslFree(pair->client);
    FastSessionNative_SslFree(pair->server);
    free(pair);
}

static void append(fs_inbox* inbox, const uint8_t* data, int32_t len)
{
    CHECK(len >= 0);
    CHECK(inbox->len + len <= FS_INBOX_CAP);
    memcpy(inbox->data + inbox->len, data, (size_t)len);
    inbox->len += len;
}

/* Delivers what the call produced and everything still pending, in out_cap-sized pieces. */
static void deliver(fs_pair* pair, SSL* ssl, fs_inbox* peer, const uint8_t* out, const fs_io_result* r)
{
    append(peer, out, r->bytes_produced);
    int32_t pending = r->pending_output;
    CHECK_EQ(pending, FastSessionNative_SslPendingOutput(ssl));
    uint8_t* buf = malloc((size_t)pair->out_cap);
    CHECK(buf != NULL);
    while (pending > 0)
    {
        int32_t n = FastSessionNative_SslDrainOutput(ssl, buf, pair->out_cap);
        CHECK(n > 0);
        CHECK(n <= pair->out_cap);
        append(peer, buf, n);
        pending = FastSessionNative_SslPendingOutput(ssl);
    }
    free(buf);
}

static int handshake_step(fs_pair* pair, int client_side)
{
    SSL* ssl = client_side ? pair->client : pair->server;
    fs_inbox* inbox = client_side ? &pair->to_client : &pair->to_server;
    fs_inbox* peer = client_side ? &pair->to_server : &pair->to_client;

    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);
    fs_io_result r;
    int32_t ret = FastSessionNative_SslDoHandshake(ssl, inbox->data, inbox->len, out, pair->out_cap, &r);
    CHECK_EQ(ret, r.ret);
    CHECK_EQ(r.bytes_consumed, inbox->len);
    CHECK(r.bytes_produced <= pair->out_cap);
    inbox->len = 0;
    deliver(pair, ssl, peer, out, &r);
    free(out);

    if (r.ret > 0)
    {
        CHECK_EQ(r.ssl_error, FS_SSL_ERROR_NONE);
        CHECK_EQ(r.handshake_done, 1);
        CHECK_EQ(r.error_code, 0);
        return 1;
    }
    if (r.ssl_error == FS_SSL_ERROR_WANT_READ)
    {
        CHECK_EQ(r.error_code, 0);
        return 1;
    }
    CHECK(r.error_code != 0 || r.ssl_error == FS_SSL_ERROR_SYSCALL);
    return 0;
}

int fs_handshake(fs_pair* pair)
{
    for (int round = 0; round < 16; round++)
    {
        int client_done = FastSessionNative_SslIsInitFinished(pair->client);
        int server_done = FastSessionNative_SslIsInitFinished(pair->server);
        if (client_done && server_done)
            return 1;
        if (!client_done && !handshake_step(pair, 1))
            return 0;
        if (!FastSessionNative_SslIsInitFinished(pair->server) && !handshake_step(pair, 0))
            return 0;
    }
    return 0;
}

fs_io_result fs_read(fs_pair* pair, int client_side, uint8_t* plain, int32_t cap)
{
    SSL* ssl = client_side ? pair->client : pair->server;
    fs_inbox* inbox = client_side ? &pair->to_client : &pair->to_server;
    fs_inbox* peer = client_side ? &pair->to_server : &pair->to_client;

    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);
    fs_io_result r;
    int32_t ret = FastSessionNative_SslRead(ssl, inbox->data, inbox->len, plain, cap, out, pair->out_cap, &r);
    CHECK_EQ(ret, r.ret);
    CHECK_EQ(r.bytes_consumed, inbox->len);
    CHECK(r.plaintext_bytes >= 0 && r.plaintext_bytes <= cap);
    inbox->len = 0;
    deliver(pair, ssl, peer, out, &r);
    free(out);
    return r;
}

fs_io_result fs_write(fs_pair* pair, int client_side, const void* plain, int32_t len)
{
    SSL* ssl = client_side ? pair->client : pair->server;
    fs_inbox* peer = client_side ? &pair->to_server : &pair->to_client;

    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);
    fs_io_result r;
    int32_t ret = FastSessionNative_SslWrite(ssl, plain, len, out, pair->out_cap, &r);
    CHECK_EQ(ret, r.ret);
    CHECK_EQ(r.bytes_consumed, 0);
    deliver(pair, ssl, peer, out, &r);
    free(out);
    return r;
}

fs_io_result fs_shutdown(fs_pair* pair, int client_side)
{
    SSL* ssl = client_side ? pair->client : pair->server;
    fs_inbox* peer = client_side ? &pair->to_server : &pair->to_client;

    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);
    fs_io_result r;
    int32_t ret = FastSessionNative_SslShutdown(ssl, out, pair->out_cap, &r);
    CHECK_EQ(ret, r.ret);
    deliver(pair, ssl, peer, out, &r);
    free(out);
    return r;
}

int32_t fs_take_all(SSL* ssl, SSL_SESSION** out, int32_t cap)
{
    return FastSessionNative_SslTakeNewSessions(ssl, out, cap);
}

int fs_connect_once(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume, int* reused,
    SSL_SESSION** out, int32_t out_cap, int32_t* out_count)
{
    fs_pair* pair = fs_pair_new(client_ctx, server_ctx, "localhost");
    if (resume != NULL)
        CHECK_EQ(FastSessionNative_SslSetSession(pair->client, resume), FS_OK);

    int ok = fs_handshake(pair);
    if (ok)
    {
        uint8_t plain[256];
        // Client: process what the server sent after its handshake (TLS 1.3 tickets).
        fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
        CHECK_EQ(r.plaintext_bytes, 0);
        CHECK_EQ(r.ssl_error, FS_SSL_ERROR_WANT_READ);

        // Clean shutdown both ways.
        r = fs_shutdown(pair, 1);
        CHECK_EQ(r.ret, 0);
        r = fs_read(pair, 0, plain, sizeof(plain));
        CHECK_EQ(r.ssl_error, FS_SSL_ERROR_ZERO_RETURN);
        r = fs_shutdown(pair, 0);
        CHECK_EQ(r.ret, 1);
        r = fs_read(pair, 1, plain, sizeof(plain));
        CHECK_EQ(r.ssl_error, FS_SSL_ERROR_ZERO_RETURN);
        r = fs_shutdown(pair, 1);
        CHECK_EQ(r.ret, 1);
        CHECK_EQ(FastSessionNative_SslGetShutdown(pair->client), 3);
        CHECK_EQ(FastSessionNative_SslGetShutdown(pair->server), 3);
    }
    if (reused != NULL)
        *reused = FastSessionNative_SslSessionReused(pair->client);
    if (reused != NULL && ok)
        CHECK_EQ(FastSessionNative_SslSessionReused(pair->server), *reused);

    int32_t count = 0;
    if (out != NULL)
        count = fs_take_all(pair->client, out, out_cap);
    if (out_count != NULL)
        *out_count = count;
    fs_pair_free(pair);
    return ok;
}

static int run_one(int index)
{
    g_current = g_tests[index].name;
    ERR_clear_error();
    // before_init_* cases create objects before the shim's first use: no baseline for them.
    int baseline = strncmp(g_current, "before_init_", 12) != 0;
    fs_live_counts before;
    if (baseline)
        before = fs_counts();
    g_tests[index].fn();
    if (baseline)
        CHECK_BASELINE(before);
    CHECK(ERR_peek_error() == 0 || (ERR_clear_error(), 1));
    printf("ok %s\n", g_current);
    g_current = NULL;
    return 0;
}

int main(int argc, char** argv)
{
    if (argc >= 2 && strcmp(argv[1], "--expect-count") == 0)
    {
        int expected = argc - 2;
        int ok = expected == g_test_count;
        for (int i = 2; i < argc && ok; i++)
        {
            int found = 0;
            for (int j = 0; j < g_test_count; j++)
                found |= strcmp(argv[i], g_tests[j].name) == 0;
            ok = found;
        }
        if (!ok)
        {
            fprintf(stderr, "CMake found %d cases, the binary registered %d\n", expected, g_test_count);
            return 1;
        }
        printf("%d cases\n", g_test_count);
        return 0;
    }

    if (argc >= 2)
    {
        for (int i = 0; i < g_test_count; i++)
            if (strcmp(argv[1], g_tests[i].name) == 0)
                return run_one(i);
        fprintf(stderr, "unknown test %s\n", argv[1]);
        return 2;
    }

    for (int i = 0; i < g_test_count; i++)
        run_one(i);
    printf("%d cases passed\n", g_test_count);
    return 0;
}
