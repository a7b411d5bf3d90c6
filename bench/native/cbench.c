/*
 * cbench.c — the C reference for FastSession's managed benchmarks.
 *
 * Runs, in tight loops timed with clock_gettime(CLOCK_MONOTONIC), the same operations as
 * bench/FastSession.Benchmarks: the SSL_get_session family straight against OpenSSL and through
 * the shim's exports, the session info snapshot against individual getters, and full/resumed
 * TLS 1.2/1.3 handshakes over memory BIOs driven through the shim's batched calls in exactly the
 * shape of SslMemoryPipe (new objects per handshake, and SSL_clear reuse as SslConnection.Reset).
 *
 * Output: one JSON object per line, {"op": ..., "ns_per_op": median, ...}; the first line is
 * {"op":"meta", ...}. bench/run.sh joins these with BenchmarkDotNet's results.
 *
 * Usage: fastsession_cbench [--runs N] [--scale F] [--filter SUBSTRING]... [--quick]
 *   --runs   timed runs per operation (median reported); default 7 (handshakes: min(runs, 5))
 *   --scale  multiplies every iteration count (0.01 for a quick look)
 *   --filter run only the operations whose name contains one of the SUBSTRINGs (repeatable)
 *   --quick  one run, a handful of iterations: a smoke test that every operation works
 */
#define _POSIX_C_SOURCE 200809L

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "fastsession_shim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RUNS 64
#define PIPE_BUFFER (64 * 1024) /* SslMemoryPipe's default buffer */
#define MAX_FLIGHTS 32          /* SslMemoryPipe.MaxFlights */

static int g_runs = 7;
static double g_scale = 1.0;
#define MAX_FILTERS 8
static const char* g_filters[MAX_FILTERS];
static int g_filter_count = 0;
static volatile uintptr_t g_sink;

static void die(const char* what)
{
    fprintf(stderr, "fastsession_cbench: %s\n", what);
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double median_of(double* values, int n)
{
    qsort(values, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

static int selected(const char* op)
{
    if (g_filter_count == 0)
        return 1;
    for (int i = 0; i < g_filter_count; i++)
        if (strstr(op, g_filters[i]) != NULL)
            return 1;
    return 0;
}

static long scaled(long iterations)
{
    long n = (long)((double)iterations * g_scale);
    return n < 1 ? 1 : n;
}

static void report(const char* op, double* samples, int runs, long iterations)
{
    double min = samples[0];
    for (int i = 1; i < runs; i++)
        if (samples[i] < min)
            min = samples[i];
    double median = median_of(samples, runs);
    printf("{\"op\":\"%s\",\"ns_per_op\":%.3f,\"min_ns_per_op\":%.3f,\"runs\":%d,\"iterations\":%ld}\n",
        op, median, min, runs, iterations);
    fflush(stdout);
}

/* ---- Memory pipe: SslMemoryPipe in C ------------------------------------------------------- */

typedef struct mem_pipe {
    uint8_t to_server[PIPE_BUFFER];
    uint8_t to_client[PIPE_BUFFER];
    uint8_t plaintext[PIPE_BUFFER];
} mem_pipe;

static int completed(const fs_io_result* r)
{
    return r->ret > 0;
}

static int closed(const fs_io_result* r)
{
    return r->ret <= 0 && r->ssl_error == FS_SSL_ERROR_ZERO_RETURN;
}

/* SslMemoryPipe.Check: a failure (neither done, nor want-read/write, nor closed) is fatal. */
static int32_t check(const fs_io_result* r, const char* side)
{
    if (r->ret <= 0 && r->ssl_error != FS_SSL_ERROR_WANT_READ && r->ssl_error != FS_SSL_ERROR_WANT_WRITE &&
        r->ssl_error != FS_SSL_ERROR_ZERO_RETURN)
    {
        char reason[256];
        FastSessionNative_ErrErrorStringN(r->error_code, reason, (int32_t)sizeof(reason));
        fprintf(stderr, "fastsession_cbench: %s failed: ret=%d ssl_error=%d %s\n", side, r->ret, r->ssl_error, reason);
        exit(1);
    }
    if (r->pending_output > 0)
        die("a TLS flight did not fit the pipe's buffer");
    return r->bytes_produced;
}

/* SslMemoryPipe.Handshake: both sides to completion, then one client read for TLS 1.3 tickets. */
static void pipe_handshake(mem_pipe* p, SSL* client, SSL* server)
{
    fs_io_result r;
    FastSessionNative_SslDoHandshake(client, NULL, 0, p->to_server, PIPE_BUFFER, &r);
    int32_t to_server = check(&r, "client");
    int32_t to_client = 0;
    int client_done = 0, server_done = 0;
    for (int flight = 0; flight < MAX_FLIGHTS; flight++)
    {
        if (!server_done || to_server > 0)
        {
            if (server_done)
                FastSessionNative_SslRead(server, p->to_server, to_server, p->plaintext, PIPE_BUFFER,
                    p->to_client, PIPE_BUFFER, &r);
            else
                FastSessionNative_SslDoHandshake(server, p->to_server, to_server, p->to_client, PIPE_BUFFER, &r);
            to_client = check(&r, "server");
            server_done |= !server_done && completed(&r);
            to_server = 0;
        }
        if (to_client > 0 || !client_done)
        {
            if (client_done)
                FastSessionNative_SslRead(client, p->to_client, to_client, p->plaintext, PIPE_BUFFER,
                    p->to_server, PIPE_BUFFER, &r);
            else
                FastSessionNative_SslDoHandshake(client, p->to_client, to_client, p->to_server, PIPE_BUFFER, &r);
            to_server = check(&r, "client");
            client_done |= !client_done && completed(&r);
            to_client = 0;
        }
        if (client_done && server_done && to_server == 0 && to_client == 0)
        {
            FastSessionNative_SslRead(client, NULL, 0, p->plaintext, PIPE_BUFFER, p->to_server, PIPE_BUFFER, &r);
            check(&r, "client");
            return;
        }
    }
    die("the handshake did not finish within 32 flights");
}

/* SslMemoryPipe.Shutdown: close_notify both ways (keeps the sessions resumable). */
static void pipe_shutdown(mem_pipe* p, SSL* client, SSL* server)
{
    fs_io_result r;
    FastSessionNative_SslShutdown(client, p->to_server, PIPE_BUFFER, &r);
    if (r.ret < 0)
        check(&r, "client shutdown");
    int32_t to_server = r.bytes_produced;
    FastSessionNative_SslRead(server, p->to_server, to_server, p->plaintext, PIPE_BUFFER, p->to_client, PIPE_BUFFER, &r);
    if (!closed(&r))
        check(&r, "server");
    FastSessionNative_SslShutdown(server, p->to_client, PIPE_BUFFER, &r);
    if (r.ret < 0)
        check(&r, "server shutdown");
    int32_t to_client = r.bytes_produced;
    FastSessionNative_SslRead(client, p->to_client, to_client, p->plaintext, PIPE_BUFFER, p->to_server, PIPE_BUFFER, &r);
    if (!closed(&r))
        check(&r, "client");
}

static SSL_CTX* make_context(int is_server, int version)
{
    fs_ctx_options options;
    memset(&options, 0, sizeof(options));
    options.is_server = is_server;
    options.min_version = version;
    options.max_version = version;
    options.tickets_enabled = 1;
    options.num_tickets = is_server ? 2 : -1; /* SslServerOptions.TicketCount default; client: n/a */
    options.session_timeout_seconds = 7200;
    options.capture_new_sessions = is_server ? 0 : 1;
    uint64_t id = 0;
    SSL_CTX* ctx = FastSessionNative_SslCtxCreate(&options, &id);
    if (ctx == NULL)
        die("FastSessionNative_SslCtxCreate failed");
    if (is_server && FastSessionNative_SslCtxUseEphemeralCertificate(ctx, "localhost", 30) != FS_OK)
        die("FastSessionNative_SslCtxUseEphemeralCertificate failed");
    return ctx;
}

static SSL* make_connection(SSL_CTX* ctx, const char* server_name)
{
    SSL* ssl = FastSessionNative_SslCreate(ctx, server_name);
    if (ssl == NULL)
        die("FastSessionNative_SslCreate failed");
    return ssl;
}

/* Takes every session the new-session callback captured, one call each as the managed benchmark
 * does with TryTakeNewSession, keeps the newest in *keep (freeing the one it replaces). */
static void take_newest_session(SSL* client, SSL_SESSION** keep)
{
    SSL_SESSION* session = NULL;
    while (FastSessionNative_SslTakeNewSessions(client, &session, 1) == 1)
    {
        FastSessionNative_SslSessionFree(*keep);
        *keep = session;
    }
}

/* ---- Micro-operations on one established client connection --------------------------------- */

typedef uintptr_t (*loop_fn)(SSL* ssl, long n);

static uintptr_t loop_get0_direct(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    for (long i = 0; i < n; i++)
        acc += (uintptr_t)SSL_get0_session(ssl);
    return acc;
}

static uintptr_t loop_get0_shim(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    for (long i = 0; i < n; i++)
        acc += (uintptr_t)FastSessionNative_SslGet0Session(ssl);
    return acc;
}

static uintptr_t loop_get0_resumable_direct(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = SSL_get0_session(ssl);
        acc += s != NULL ? (uintptr_t)SSL_SESSION_is_resumable(s) : 0;
    }
    return acc;
}

static uintptr_t loop_get0_resumable_shim(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = FastSessionNative_SslGet0Session(ssl);
        acc += s != NULL ? (uintptr_t)FastSessionNative_SslSessionIsResumable(s) : 0;
    }
    return acc;
}

/* get0 + id + version + time + resumable: the id is copied out by value, as SslSessionId is. */
static uintptr_t loop_get0_fields_direct(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    uint8_t id[FS_SESSION_ID_MAX];
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = SSL_get0_session(ssl);
        unsigned int len = 0;
        const unsigned char* p = SSL_SESSION_get_id(s, &len);
        if (len > FS_SESSION_ID_MAX)
            len = FS_SESSION_ID_MAX;
        memcpy(id, p, len);
        acc += id[0] + len;
        acc += (uintptr_t)SSL_SESSION_get_protocol_version(s);
        acc += (uintptr_t)SSL_SESSION_get_time(s);
        acc += (uintptr_t)SSL_SESSION_is_resumable(s);
    }
    return acc;
}

static uintptr_t loop_get0_fields_shim(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    uint8_t id[FS_SESSION_ID_MAX];
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = FastSessionNative_SslGet0Session(ssl);
        int32_t len = FastSessionNative_SslSessionGetId(s, id, FS_SESSION_ID_MAX);
        acc += id[0] + (uintptr_t)len;
        acc += (uintptr_t)FastSessionNative_SslSessionGetProtocolVersion(s);
        acc += (uintptr_t)FastSessionNative_SslSessionGetTime(s);
        acc += (uintptr_t)FastSessionNative_SslSessionIsResumable(s);
    }
    return acc;
}

static uintptr_t loop_get1_free_direct(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = SSL_get1_session(ssl);
        acc += (uintptr_t)s;
        SSL_SESSION_free(s);
    }
    return acc;
}

static uintptr_t loop_get1_free_shim(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = FastSessionNative_SslGet1Session(ssl);
        acc += (uintptr_t)s;
        FastSessionNative_SslSessionFree(s);
    }
    return acc;
}

static uintptr_t loop_info_snapshot_shim(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    fs_session_info info;
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = FastSessionNative_SslGet0Session(ssl);
        FastSessionNative_SslSessionGetInfo(s, &info);
        acc += (uintptr_t)info.id_length + (uintptr_t)info.time + info.cipher_id + (uintptr_t)info.sni_length;
    }
    return acc;
}

static int32_t copy_bounded(void* dst, int32_t cap, const void* src, size_t len)
{
    size_t n = len > (size_t)cap ? (size_t)cap : len;
    if (n > 0)
        memcpy(dst, src, n);
    return (int32_t)n;
}

/* What a C program does to learn the same fields: one OpenSSL getter per field, into the same
 * struct layout (the context id is the shim's stamp, read with its getter). */
static uintptr_t loop_info_getters_direct(SSL* ssl, long n)
{
    uintptr_t acc = 0;
    fs_session_info info;
    for (long i = 0; i < n; i++)
    {
        SSL_SESSION* s = SSL_get0_session(ssl);
        unsigned int id_len = 0;
        const unsigned char* id = SSL_SESSION_get_id(s, &id_len);
        info.id_length = copy_bounded(info.id, FS_SESSION_ID_MAX, id, id_len);
        info.protocol_version = SSL_SESSION_get_protocol_version(s);
        info.resumable = SSL_SESSION_is_resumable(s);
        info.time = SSL_SESSION_get_time(s);
        info.timeout = SSL_SESSION_get_timeout(s);
        info.ticket_lifetime_hint = (uint32_t)SSL_SESSION_get_ticket_lifetime_hint(s);
        info.has_ticket = SSL_SESSION_has_ticket(s);
        info.max_early_data = SSL_SESSION_get_max_early_data(s);
        info.context_id = FastSessionNative_SslSessionGetContextId(s);
        const SSL_CIPHER* cipher = SSL_SESSION_get0_cipher(s);
        const char* name = cipher != NULL ? SSL_CIPHER_get_name(cipher) : NULL;
        info.cipher_id = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
        info.cipher_name_length = name != NULL ? copy_bounded(info.cipher_name, FS_CIPHER_NAME_MAX, name, strlen(name)) : 0;
        const char* sni = SSL_SESSION_get0_hostname(s);
        info.sni_length = sni != NULL ? copy_bounded(info.sni, FS_SNI_MAX, sni, strlen(sni)) : 0;
        const unsigned char* alpn = NULL;
        size_t alpn_len = 0;
        SSL_SESSION_get0_alpn_selected(s, &alpn, &alpn_len);
        info.alpn_length = alpn != NULL ? copy_bounded(info.alpn, FS_ALPN_MAX, alpn, alpn_len) : 0;
        acc += (uintptr_t)info.id_length + (uintptr_t)info.time + info.cipher_id + (uintptr_t)info.sni_length;
    }
    return acc;
}

static void run_loop(const char* op, loop_fn fn, SSL* ssl, long iterations)
{
    if (!selected(op))
        return;
    long n = scaled(iterations);
    g_sink += fn(ssl, n / 10 + 1); /* warm-up */
    double samples[MAX_RUNS];
    for (int r = 0; r < g_runs; r++)
    {
        double t0 = now_ns();
        uintptr_t acc = fn(ssl, n);
        double t1 = now_ns();
        g_sink += acc;
        samples[r] = (t1 - t0) / (double)n;
    }
    report(op, samples, g_runs, n);
}

static void run_micro(mem_pipe* p)
{
    static const char* const ops[] = { "get0_direct", "get0_shim", "get0_resumable_direct", "get0_resumable_shim",
        "get0_id_version_time_resumable_direct", "get0_id_version_time_resumable_shim", "get1_free_direct",
        "get1_free_shim", "info_snapshot_shim", "info_getters_direct" };
    int any = 0;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        any |= selected(ops[i]);
    if (!any)
        return; /* no handshake for nothing */
    /* As the managed benchmarks' setup: one TLS 1.3 handshake with SNI, tickets read, so the
     * client's session is resumable and has an id. */
    SSL_CTX* sctx = make_context(1, FS_TLS1_3);
    SSL_CTX* cctx = make_context(0, FS_TLS1_3);
    SSL* client = make_connection(cctx, "localhost");
    SSL* server = make_connection(sctx, NULL);
    pipe_handshake(p, client, server);
    SSL_SESSION* s = SSL_get0_session(client);
    if (s == NULL || !SSL_SESSION_is_resumable(s))
        die("the micro-benchmark connection has no resumable session");

    run_loop("get0_direct", loop_get0_direct, client, 20000000);
    run_loop("get0_shim", loop_get0_shim, client, 20000000);
    run_loop("get0_resumable_direct", loop_get0_resumable_direct, client, 10000000);
    run_loop("get0_resumable_shim", loop_get0_resumable_shim, client, 10000000);
    run_loop("get0_id_version_time_resumable_direct", loop_get0_fields_direct, client, 5000000);
    run_loop("get0_id_version_time_resumable_shim", loop_get0_fields_shim, client, 5000000);
    run_loop("get1_free_direct", loop_get1_free_direct, client, 2000000);
    run_loop("get1_free_shim", loop_get1_free_shim, client, 2000000);
    run_loop("info_snapshot_shim", loop_info_snapshot_shim, client, 2000000);
    run_loop("info_getters_direct", loop_info_getters_direct, client, 2000000);

    FastSessionNative_SslFree(client);
    FastSessionNative_SslFree(server);
    FastSessionNative_SslCtxFree(cctx);
    FastSessionNative_SslCtxFree(sctx);
}

/* ---- Handshakes ---------------------------------------------------------------------------- */

/* One handshake configuration: contexts, the seed session, the reused objects. */
typedef struct hs_state {
    mem_pipe* pipe;
    SSL_CTX* sctx;
    SSL_CTX* cctx;
    SSL_SESSION* session;
    SSL* client; /* reuse only */
    SSL* server;
    int resumed;
    int reuse;
} hs_state;

static hs_state* hs_open(mem_pipe* p, int version, int resumed, int reuse)
{
    hs_state* h = calloc(1, sizeof(hs_state));
    if (h == NULL)
        die("out of memory");
    h->pipe = p;
    h->resumed = resumed;
    h->reuse = reuse;
    h->sctx = make_context(1, version);
    h->cctx = make_context(0, version);
    if (resumed)
    {
        /* The seed session: one full handshake, clean close, the newest captured session. */
        SSL* client = make_connection(h->cctx, NULL);
        SSL* server = make_connection(h->sctx, NULL);
        pipe_handshake(p, client, server);
        pipe_shutdown(p, client, server);
        take_newest_session(client, &h->session);
        FastSessionNative_SslFree(client);
        FastSessionNative_SslFree(server);
        if (h->session == NULL)
            die("no session was captured for resumption");
    }
    if (reuse)
    {
        h->client = make_connection(h->cctx, NULL);
        h->server = make_connection(h->sctx, NULL);
    }
    return h;
}

/* `count` connections, each exactly as the managed MemoryHandshakeResetVsNew benchmark runs one. */
static void hs_iterate(hs_state* h, long count)
{
    for (long i = 0; i < count; i++)
    {
        SSL* client;
        SSL* server;
        if (h->reuse)
        {
            client = h->client;
            server = h->server;
            if (FastSessionNative_SslClear(client, NULL) != FS_OK || FastSessionNative_SslClear(server, NULL) != FS_OK)
                die("FastSessionNative_SslClear failed");
        }
        else
        {
            client = make_connection(h->cctx, NULL);
            server = make_connection(h->sctx, NULL);
        }
        if (h->resumed)
        {
            /* SslConnection.SetSession checks IsResumable first. */
            if (!FastSessionNative_SslSessionIsResumable(h->session) ||
                FastSessionNative_SslSetSession(client, h->session) != FS_OK)
                die("FastSessionNative_SslSetSession failed");
        }
        pipe_handshake(h->pipe, client, server);
        pipe_shutdown(h->pipe, client, server);
        if (h->resumed)
        {
            if (!FastSessionNative_SslSessionReused(client))
                die("a resumed handshake was not resumed");
            /* TLS 1.3: use each session once (the new ticket replaces it); TLS 1.2: none arrive. */
            take_newest_session(client, &h->session);
        }
        if (!h->reuse)
        {
            FastSessionNative_SslFree(client);
            FastSessionNative_SslFree(server);
        }
    }
}

static void hs_close(hs_state* h)
{
    if (h->reuse)
    {
        FastSessionNative_SslFree(h->client);
        FastSessionNative_SslFree(h->server);
    }
    FastSessionNative_SslSessionFree(h->session);
    FastSessionNative_SslCtxFree(h->cctx);
    FastSessionNative_SslCtxFree(h->sctx);
    free(h);
}

static void run_handshakes(mem_pipe* p, int version, int resumed, int reuse, long iterations)
{
    char op[64];
    snprintf(op, sizeof(op), "handshake_tls%s_%s_%s", version == FS_TLS1_3 ? "13" : "12",
        resumed ? "resumed" : "full", reuse ? "reset" : "new");
    if (!selected(op))
        return;

    hs_state* h = hs_open(p, version, resumed, reuse);
    long n = scaled(iterations);
    int runs = g_runs < 5 ? g_runs : 5;
    double samples[MAX_RUNS];
    hs_iterate(h, n / 10 + 1); /* warm-up */
    for (int r = 0; r < runs; r++)
    {
        double t0 = now_ns();
        hs_iterate(h, n);
        double t1 = now_ns();
        samples[r] = (t1 - t0) / (double)n;
    }
    report(op, samples, runs, n);
    hs_close(h);
}

#ifdef CBENCH_LIBRARY
/* ---- The same loops as a shared library (libfastsession_cbench.so) -------------------------
 * The managed benchmarks call these through one P/Invoke per batch, so the C reference is measured
 * by BenchmarkDotNet in the same process, right next to the managed code it is compared with. */
#define CBENCH_EXPORT __attribute__((visibility("default")))

static const struct {
    const char* name;
    loop_fn fn;
} k_loops[] = {
    { "get0_direct", loop_get0_direct },
    { "get0_shim", loop_get0_shim },
    { "get0_resumable_direct", loop_get0_resumable_direct },
    { "get0_resumable_shim", loop_get0_resumable_shim },
    { "get0_id_version_time_resumable_direct", loop_get0_fields_direct },
    { "get0_id_version_time_resumable_shim", loop_get0_fields_shim },
    { "get1_free_direct", loop_get1_free_direct },
    { "get1_free_shim", loop_get1_free_shim },
    { "info_snapshot_shim", loop_info_snapshot_shim },
    { "info_getters_direct", loop_info_getters_direct },
};

static mem_pipe* g_lib_pipe;
static SSL* g_lib_client;
static SSL* g_lib_server;

static mem_pipe* lib_pipe(void)
{
    if (g_lib_pipe == NULL && (g_lib_pipe = malloc(sizeof(mem_pipe))) == NULL)
        die("out of memory");
    return g_lib_pipe;
}

/* Returns the id of a micro loop (>= 0) or -1; sets up the established connection once. */
CBENCH_EXPORT int32_t cbench_micro_find(const char* name)
{
    for (int32_t i = 0; i < (int32_t)(sizeof(k_loops) / sizeof(k_loops[0])); i++)
    {
        if (strcmp(k_loops[i].name, name) != 0)
            continue;
        if (g_lib_client == NULL)
        {
            SSL_CTX* sctx = make_context(1, FS_TLS1_3);
            SSL_CTX* cctx = make_context(0, FS_TLS1_3);
            g_lib_server = make_connection(sctx, NULL);
            g_lib_client = make_connection(cctx, "localhost");
            pipe_handshake(lib_pipe(), g_lib_client, g_lib_server);
            /* The connections hold their contexts; both live as long as the process. */
            FastSessionNative_SslCtxFree(sctx);
            FastSessionNative_SslCtxFree(cctx);
        }
        return i;
    }
    return -1;
}

/* Runs micro loop `id` n times; returns its checksum. */
CBENCH_EXPORT uint64_t cbench_micro_run(int32_t id, int64_t n)
{
    return (uint64_t)k_loops[id].fn(g_lib_client, (long)n);
}

/* version: 0x0303 / 0x0304. */
CBENCH_EXPORT void* cbench_handshake_open(int32_t version, int32_t resumed, int32_t reuse)
{
    return hs_open(lib_pipe(), version, resumed, reuse);
}

CBENCH_EXPORT void cbench_handshake_run(void* state, int64_t count)
{
    hs_iterate((hs_state*)state, (long)count);
}

CBENCH_EXPORT void cbench_handshake_close(void* state)
{
    hs_close((hs_state*)state);
}
#else

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            g_runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            g_scale = atof(argv[++i]);
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc && g_filter_count < MAX_FILTERS)
            g_filters[g_filter_count++] = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
        {
            g_runs = 1;
            g_scale = 1e-5;
        }
        else
        {
            fprintf(stderr, "usage: %s [--runs N] [--scale F] [--filter SUBSTRING]... [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (g_runs < 1 || g_runs > MAX_RUNS || !(g_scale > 0))
    {
        fprintf(stderr, "fastsession_cbench: --runs must be 1..%d and --scale positive\n", MAX_RUNS);
        return 2;
    }

    printf("{\"op\":\"meta\",\"openssl\":\"%s\",\"runs\":%d,\"scale\":%g}\n", OpenSSL_version(OPENSSL_VERSION), g_runs, g_scale);

    mem_pipe* p = malloc(sizeof(mem_pipe));
    if (p == NULL)
        die("out of memory");

    run_micro(p);

    static const int versions[] = { FS_TLS1_2, FS_TLS1_3 };
    for (int v = 0; v < 2; v++)
    {
        for (int resumed = 0; resumed <= 1; resumed++)
        {
            for (int reuse = 0; reuse <= 1; reuse++)
            {
                long iterations = resumed ? 400 : 100;
                run_handshakes(p, versions[v], resumed, reuse, iterations);
            }
        }
    }

    free(p);
    return g_sink == 42 ? 3 : 0; /* keeps g_sink observable */
}
#endif /* CBENCH_LIBRARY */
