/*
 * gen_corpus.c — writes the fuzzer's seed corpus: real sessions from real handshakes through the
 * shim (memory BIOs, ephemeral ECDSA certificates), each as DER (.der) and PEM (.pem).
 *
 * Scenarios: TLS 1.2 with a session id (no tickets), TLS 1.2 with a ticket, TLS 1.3 tickets
 * (several per connection), each with and without SNI / ALPN; the sessions of a resumed
 * handshake; the server's sessions; and a TLS 1.3 session taken before the ticket arrived (not
 * resumable).
 *
 * Usage: gen_corpus OUTPUT_DIR     (exit 0 on success; prints one line per file)
 * Build: native-shim/fuzz/CMakeLists.txt (target fuzz_corpus_gen).
 */
#include "fastsession_shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUF_SIZE (64 * 1024)

static const char* g_out_dir;
static int g_files;

static void die(const char* what)
{
    char reason[256] = "";
    uint64_t e = FastSessionNative_ErrGetError();
    if (e != 0)
        FastSessionNative_ErrErrorStringN(e, reason, (int32_t)sizeof reason);
    fprintf(stderr, "gen_corpus: %s failed %s\n", what, reason);
    exit(1);
}

static void write_file(const char* name, const char* ext, const uint8_t* data, int32_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s", g_out_dir, name, ext);
    FILE* f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0)
    {
        fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    printf("%s (%d bytes)\n", path, len);
    g_files++;
}

/* Writes the session as NAME.der and NAME.pem. */
static void save(SSL_SESSION* s, const char* name)
{
    static uint8_t buf[BUF_SIZE];
    int32_t needed = 0;
    int32_t n = FastSessionNative_I2dSslSession(s, buf, BUF_SIZE, &needed);
    if (n <= 0)
        die("I2dSslSession");
    write_file(name, "der", buf, n);
    n = FastSessionNative_PemWriteSslSession(s, buf, BUF_SIZE, &needed);
    if (n <= 0)
        die("PemWriteSslSession");
    write_file(name, "pem", buf, n);
}

typedef struct scenario {
    const char* name;
    int32_t version;   /* FS_TLS1_2 / FS_TLS1_3 */
    int32_t tickets;
    int32_t num_tickets;
    const char* sni;   /* NULL = none */
    int32_t alpn;      /* 1 = offer h2 + http/1.1 (server prefers h2) */
} scenario;

static const uint8_t k_alpn[] = "\x02h2\x08http/1.1";

static SSL_CTX* make_ctx(const scenario* sc, int is_server)
{
    fs_ctx_options o;
    memset(&o, 0, sizeof o);
    o.is_server = is_server;
    o.min_version = sc->version;
    o.max_version = sc->version;
    o.tickets_enabled = sc->tickets;
    o.num_tickets = is_server ? sc->num_tickets : -1;
    o.capture_new_sessions = 1;
    uint64_t id = 0;
    SSL_CTX* ctx = FastSessionNative_SslCtxCreate(&o, &id);
    if (ctx == NULL)
        die("SslCtxCreate");
    if (is_server && FastSessionNative_SslCtxUseEphemeralCertificate(ctx, "localhost", 2) != FS_OK)
        die("SslCtxUseEphemeralCertificate");
    if (sc->alpn && FastSessionNative_SslCtxSetAlpnProtos(ctx, k_alpn, (int32_t)sizeof k_alpn - 1) != FS_OK)
        die("SslCtxSetAlpnProtos");
    return ctx;
}

static uint8_t g_c2s[BUF_SIZE], g_s2c[BUF_SIZE], g_plain[BUF_SIZE];

static int32_t step_ok(const fs_io_result* r, const char* what)
{
    if (r->ret <= 0 && r->ssl_error != FS_SSL_ERROR_WANT_READ && r->ssl_error != FS_SSL_ERROR_ZERO_RETURN)
        die(what);
    if (r->pending_output > 0)
        die("flight larger than the buffer");
    return r->bytes_produced;
}

/* Runs the handshake. When early_client_session is non-NULL, the client's get1 session is taken
 * right after its handshake completes, before it reads what followed the server's Finished. */
static void handshake(SSL* c, SSL* s, SSL_SESSION** early_client_session)
{
    fs_io_result r;
    int32_t to_s = 0, to_c = 0;
    FastSessionNative_SslDoHandshake(c, NULL, 0, g_c2s, BUF_SIZE, &r);
    to_s = step_ok(&r, "client handshake");
    int c_done = 0, s_done = 0;
    for (int flight = 0; flight < 32; flight++)
    {
        if (!s_done || to_s > 0)
        {
            if (s_done)
                FastSessionNative_SslRead(s, g_c2s, to_s, g_plain, BUF_SIZE, g_s2c, BUF_SIZE, &r);
            else
                FastSessionNative_SslDoHandshake(s, g_c2s, to_s, g_s2c, BUF_SIZE, &r);
            to_c = step_ok(&r, "server handshake");
            s_done |= r.handshake_done;
            to_s = 0;
        }
        if (!c_done || to_c > 0)
        {
            if (c_done)
                FastSessionNative_SslRead(c, g_s2c, to_c, g_plain, BUF_SIZE, g_c2s, BUF_SIZE, &r);
            else
            {
                FastSessionNative_SslDoHandshake(c, g_s2c, to_c, g_c2s, BUF_SIZE, &r);
                if (r.handshake_done && early_client_session != NULL && *early_client_session == NULL)
                    *early_client_session = FastSessionNative_SslGet1Session(c);
            }
            to_s = step_ok(&r, "client handshake");
            c_done |= r.handshake_done;
            to_c = 0;
        }
        if (c_done && s_done && to_s == 0 && to_c == 0)
        {
            // Tickets that came with the server's Finished wait in the client's read BIO.
            FastSessionNative_SslRead(c, NULL, 0, g_plain, BUF_SIZE, g_c2s, BUF_SIZE, &r);
            step_ok(&r, "client ticket read");
            return;
        }
    }
    die("handshake did not finish");
}

static void shutdown_both(SSL* c, SSL* s)
{
    fs_io_result r;
    FastSessionNative_SslShutdown(c, g_c2s, BUF_SIZE, &r);
    int32_t n = r.bytes_produced;
    FastSessionNative_SslRead(s, g_c2s, n, g_plain, BUF_SIZE, g_s2c, BUF_SIZE, &r);
    FastSessionNative_SslShutdown(s, g_s2c, BUF_SIZE, &r);
    n = r.bytes_produced;
    FastSessionNative_SslRead(c, g_s2c, n, g_plain, BUF_SIZE, g_c2s, BUF_SIZE, &r);
    FastSessionNative_ErrClearError();
}

/* Saves every session in the connection's ring as PREFIX-N; returns the last one (owned) or NULL. */
static SSL_SESSION* save_ring(SSL* ssl, const char* prefix)
{
    SSL_SESSION* sessions[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = FastSessionNative_SslTakeNewSessions(ssl, sessions, FS_NEW_SESSION_RING_CAPACITY);
    SSL_SESSION* last = NULL;
    for (int32_t i = 0; i < n; i++)
    {
        char name[256];
        snprintf(name, sizeof name, "%s-%d", prefix, (int)i);
        save(sessions[i], name);
        FastSessionNative_SslSessionFree(last);
        last = sessions[i];
    }
    return last;
}

static void run(const scenario* sc)
{
    SSL_CTX* sctx = make_ctx(sc, 1);
    SSL_CTX* cctx = make_ctx(sc, 0);
    char name[256];

    // Full handshake.
    SSL* c = FastSessionNative_SslCreate(cctx, sc->sni);
    SSL* s = FastSessionNative_SslCreate(sctx, NULL);
    if (c == NULL || s == NULL)
        die("SslCreate");
    SSL_SESSION* early = NULL;
    handshake(c, s, sc->version == FS_TLS1_3 ? &early : NULL);
    if (early != NULL)
    {
        if (FastSessionNative_SslSessionIsResumable(early))
            die("a TLS 1.3 session taken before the ticket is resumable");
        snprintf(name, sizeof name, "%s-client-before-ticket", sc->name);
        save(early, name);
        FastSessionNative_SslSessionFree(early);
    }
    shutdown_both(c, s);

    snprintf(name, sizeof name, "%s-client", sc->name);
    SSL_SESSION* resume = save_ring(c, name);
    snprintf(name, sizeof name, "%s-server", sc->name);
    FastSessionNative_SslSessionFree(save_ring(s, name));
    SSL_SESSION* server_get1 = FastSessionNative_SslGet1Session(s);
    if (server_get1 != NULL)
    {
        snprintf(name, sizeof name, "%s-server-get1", sc->name);
        save(server_get1, name);
        FastSessionNative_SslSessionFree(server_get1);
    }
    FastSessionNative_SslFree(c);
    FastSessionNative_SslFree(s);
    if (resume == NULL)
        die("no client session captured");

    // Resumed handshake: its sessions (TLS 1.3: new tickets from a PSK handshake).
    c = FastSessionNative_SslCreate(cctx, sc->sni);
    s = FastSessionNative_SslCreate(sctx, NULL);
    if (c == NULL || s == NULL)
        die("SslCreate");
    if (FastSessionNative_SslSetSession(c, resume) != FS_OK)
        die("SslSetSession");
    handshake(c, s, NULL);
    if (!FastSessionNative_SslSessionReused(c))
        die("the second handshake did not resume");
    shutdown_both(c, s);
    snprintf(name, sizeof name, "%s-resumed-client", sc->name);
    FastSessionNative_SslSessionFree(save_ring(c, name));
    SSL_SESSION* resumed_get1 = FastSessionNative_SslGet1Session(c);
    if (resumed_get1 != NULL)
    {
        snprintf(name, sizeof name, "%s-resumed-client-get1", sc->name);
        save(resumed_get1, name);
        FastSessionNative_SslSessionFree(resumed_get1);
    }
    FastSessionNative_SslFree(c);
    FastSessionNative_SslFree(s);
    FastSessionNative_SslSessionFree(resume);
    FastSessionNative_SslCtxFree(cctx);
    FastSessionNative_SslCtxFree(sctx);
}

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    g_out_dir = argv[1];
    mkdir(g_out_dir, 0755);

    fs_live_counts before;
    FastSessionNative_GetLiveCounts(&before);

    static const scenario scenarios[] = {
        { "tls12-id", FS_TLS1_2, 0, -1, NULL, 0 },
        { "tls12-id-sni-alpn", FS_TLS1_2, 0, -1, "localhost", 1 },
        { "tls12-ticket", FS_TLS1_2, 1, -1, NULL, 0 },
        { "tls12-ticket-sni-alpn", FS_TLS1_2, 1, -1, "www.example.test", 1 },
        { "tls13", FS_TLS1_3, 1, 2, NULL, 0 },
        { "tls13-sni-alpn", FS_TLS1_3, 1, 3, "localhost", 1 },
    };
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        run(&scenarios[i]);

    fs_live_counts after;
    FastSessionNative_GetLiveCounts(&after);
    if (after.contexts != before.contexts || after.connections != before.connections ||
        after.sessions != before.sessions || after.certificates != before.certificates)
    {
        fprintf(stderr, "gen_corpus: live objects left: ctx %lld ssl %lld sess %lld x509 %lld\n",
            (long long)(after.contexts - before.contexts), (long long)(after.connections - before.connections),
            (long long)(after.sessions - before.sessions), (long long)(after.certificates - before.certificates));
        return 1;
    }
    printf("gen_corpus: %d files in %s\n", g_files, g_out_dir);
    return 0;
}
