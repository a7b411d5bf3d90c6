/*
 * test_session_cache_owner.c — one SSL_SESSION, one SSL_CTX cache (issue #10, the last open finding).
 *
 * OpenSSL 3.0 links a cached session into its context's list (prev, next, owner). Two things break
 * that list from outside: adding a session that sits in one context's cache to another context
 * (SSL_CTX_add_session unlinks it with the wrong context's sentinels), and SSL_SESSION_set_time /
 * set_timeout, which read s->owner without a lock and then relink the session into the owner's list
 * unconditionally, even when a removal ran in between. The engine removes cached sessions on its own
 * (ssl_update_cache flushes expired ones every 255 accepts, an expired lookup removes its session, a
 * full cache evicts its tail, a fatal alert removes the connection's session), outside any shim lock.
 */
#include "test_support.h"

#include <openssl/ssl.h>

#include <pthread.h>
#include <time.h>

typedef struct owner_env {
    SSL_CTX* server;
    SSL_CTX* client;
} owner_env;

static owner_env owner_env_new(void)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_2);
    so.tickets_enabled = 0; // session ids: the server keeps its sessions in its internal cache
    fs_ctx_options co = fs_client_options(FS_TLS1_2);
    co.tickets_enabled = 0;
    owner_env env = { fs_make_ctx(&so), fs_make_ctx(&co) };
    return env;
}

static void owner_env_free(owner_env env)
{
    FastSessionNative_SslCtxFree(env.client);
    FastSessionNative_SslCtxFree(env.server);
}

/* One full handshake; returns the server's session (owned), and the client's when asked. */
static SSL_SESSION* full_handshake(owner_env env, SSL_SESSION** client_session)
{
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* server_session = FastSessionNative_SslGet1Session(pair->server);
    CHECK(server_session != NULL);
    if (client_session != NULL)
        *client_session = FastSessionNative_SslGet1Session(pair->client);
    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    fs_pair_free(pair);
    return server_session;
}

static void resume_once(owner_env env, SSL_SESSION* session)
{
    int reused = -1;
    SSL_SESSION* fresh[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    CHECK(fs_connect_once(env.client, env.server, session, &reused, fresh, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(reused, 1);
    for (int32_t i = 0; i < n; i++)
        FastSessionNative_SslSessionFree(fresh[i]);
}

/* The remove callback runs inside SSL_CTX_flush_sessions with the context's lock held: it holds the
 * engine's flush there, on its first session, long enough for a set_time to read the owner and queue
 * on that lock. It also counts removals of the watched session. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_paused;
static int g_pause_armed;
static SSL_SESSION* g_watched;
static int g_watched_removals;

static void pausing_remove_cb(SSL_CTX* ctx, SSL_SESSION* session)
{
    (void)ctx;
    if (session == g_watched)
        g_watched_removals++;
    if (!g_pause_armed)
        return;
    g_pause_armed = 0;
    pthread_mutex_lock(&g_mu);
    g_paused = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    struct timespec hold = { 0, 400 * 1000 * 1000 };
    nanosleep(&hold, NULL);
}

typedef struct engine_flush_arg {
    owner_env env;
    SSL_SESSION* resume;
} engine_flush_arg;

static void* engine_handshake_thread(void* p)
{
    engine_flush_arg* arg = p;
    resume_once(arg->env, arg->resume); // its ssl_update_cache runs the 256th-accept flush
    return NULL;
}

/*
 * The engine's own flush (ssl_update_cache: every 256th accepted handshake flushes expired sessions,
 * inside SSL_do_handshake, under no shim guard) removes a cached session while another thread calls
 * SetTime on it. Unfixed, set_time has read s->owner before the removal and waits for the owner's
 * lock; when it gets it, OpenSSL 3.0.19 reads s->owner again (now NULL) and crashes in
 * SSL_SESSION_list_add (SIGSEGV, measured on the unfixed shim); had the session been re-added in
 * between, it would relink it as a list entry with no cache reference (the next flush frees a reference
 * the cache never held). Fixed: SetTime refuses a session that is or may be in a cache and never
 * reaches the owner.
 */
FS_TEST(set_time_racing_the_engines_own_flush_never_relinks_a_removed_session)
{
    fs_live_counts before = fs_counts();
    owner_env env = owner_env_new();
    SSL_CTX_sess_set_remove_cb(env.server, pausing_remove_cb);

    SSL_SESSION* oldest = full_handshake(env, NULL);    // the flush's first victim (where it pauses)
    SSL_SESSION* watched = full_handshake(env, NULL);   // the session SetTime races for
    SSL_SESSION* resumer = NULL;
    SSL_SESSION* keeper = full_handshake(env, &resumer); // stays cached; its client side drives the accepts
    CHECK(resumer != NULL);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 3);

    // Test setup, single-threaded and straight through OpenSSL: age two cached sessions so the engine's
    // flush removes them (oldest first, so it is the list's tail).
    time_t now = time(NULL);
    SSL_SESSION_set_timeout(oldest, 60);
    SSL_SESSION_set_time(oldest, (long)(now - 7200));
    SSL_SESSION_set_timeout(watched, 60);
    SSL_SESSION_set_time(watched, (long)(now - 3600));

    // Resumed handshakes until the next accept is the one whose ssl_update_cache flushes.
    while ((SSL_CTX_sess_accept_good(env.server) & 0xff) != 0xff)
        resume_once(env, resumer);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 3);

    g_watched = watched;
    g_watched_removals = 0;
    g_paused = 0;
    g_pause_armed = 1;
    engine_flush_arg arg = { env, resumer };
    pthread_t engine;
    CHECK_EQ(pthread_create(&engine, NULL, engine_handshake_thread, &arg), 0);
    // Bounded: an OpenSSL whose handshake did not flush here fails the case instead of hanging it.
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&g_mu);
    while (!g_paused && pthread_cond_timedwait(&g_cv, &g_mu, &deadline) == 0)
    {
    }
    int paused = g_paused;
    pthread_mutex_unlock(&g_mu);
    if (!paused)
    {
        CHECK_EQ(pthread_join(engine, NULL), 0);
        CHECK(paused); // the 256th accept did not run the engine's flush
    }

    // The engine holds the cache's lock, paused on the oldest session; the watched one is still cached.
    int32_t rc = FastSessionNative_SslSessionSetTime(watched, (int64_t)now);
    CHECK_EQ(pthread_join(engine, NULL), 0);
    CHECK_EQ(rc, FS_ERR_SESSION_CACHED); // refused: the session is (or was) in the server's cache
    CHECK_EQ(g_watched_removals, 1); // the engine's flush removed it
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1); // only keeper

    // Whatever is still linked in the list goes now: the watched session must not be among it.
    g_watched_removals = 0;
    g_pause_armed = 0;
    FastSessionNative_SslCtxFlushSessions(env.server, 0);
    int relinked = g_watched_removals;
    CHECK_EQ(relinked, 0);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 0);
    g_watched = NULL;

    SSL_CTX_sess_set_remove_cb(env.server, NULL);
    FastSessionNative_SslSessionFree(oldest);
    if (!relinked) // a relinked session lost one of our references to the flush above
        FastSessionNative_SslSessionFree(watched);
    FastSessionNative_SslSessionFree(keeper);
    FastSessionNative_SslSessionFree(resumer);
    owner_env_free(env);
    CHECK_BASELINE(before);
}

/*
 * AddSession of a session that sits in another context's cache: SSL_CTX_add_session would link it into
 * the second list while the first still holds it (a flush of the first then never ends: ssl_sess.c,
 * SSL_SESSION_list_remove with the wrong sentinels). The shim refuses it as a wrong context.
 */
FS_TEST(add_session_refuses_a_session_cached_by_another_context)
{
    fs_live_counts before = fs_counts();
    owner_env env = owner_env_new();
    fs_ctx_options so = fs_server_options(FS_TLS1_2);
    so.tickets_enabled = 0;
    SSL_CTX* other = fs_make_ctx(&so);

    SSL_SESSION* cached = full_handshake(env, NULL);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(other, cached), FS_ERR_WRONG_CONTEXT);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(other), 0);

    // A true copy keeps the binding, so it is refused by the other context too ...
    SSL_SESSION* copy = FastSessionNative_SslSessionDup(cached);
    CHECK(copy != NULL);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(other, copy), FS_ERR_WRONG_CONTEXT);
    // ... while the context it belongs to takes it (it replaces the original, same id).
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(copy, 120), 1); // not cached yet: free to change
    CHECK_EQ(FastSessionNative_SslCtxAddSession(env.server, copy), 1);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(copy, 60), FS_ERR_SESSION_CACHED); // cached now

    // The explicit re-bind through DER gives the other context its own object.
    uint8_t der[4096];
    int32_t needed = 0;
    int32_t len = FastSessionNative_I2dSslSession(cached, der, sizeof(der), &needed);
    CHECK(len > 0);
    SSL_SESSION* rebound = FastSessionNative_D2iSslSession(der, len, FastSessionNative_SslCtxGetId(other));
    CHECK(rebound != NULL);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(other, rebound), 1);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(env.server, rebound), FS_ERR_WRONG_CONTEXT);

    // Both caches empty cleanly: each list holds only its own objects.
    FastSessionNative_SslCtxFlushSessions(env.server, 0);
    FastSessionNative_SslCtxFlushSessions(other, 0);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 0);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(other), 0);

    FastSessionNative_SslSessionFree(rebound);
    FastSessionNative_SslSessionFree(copy);
    FastSessionNative_SslSessionFree(cached);
    FastSessionNative_SslCtxFree(other);
    owner_env_free(env);
    CHECK_BASELINE(before);
}

/*
 * Every session a server hands out may be cached: the ones captured in the ring (TLS 1.3 stateful
 * tickets: several per call, each cached by ssl_update_cache) and the connection's current one.
 * Client sessions are never in an internal cache unless added: they stay free to re-time.
 */
FS_TEST(server_sessions_refuse_set_time_client_sessions_until_added)
{
    fs_live_counts before = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    so.tickets_enabled = 0; // stateful TLS 1.3 tickets: every ticket's session goes into the cache
    so.num_tickets = 3;
    so.capture_new_sessions = 1;
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server = fs_make_ctx(&so);
    SSL_CTX* client = fs_make_ctx(&co);

    fs_pair* pair = fs_pair_new(client, server, "localhost");
    CHECK(fs_handshake(pair));
    uint8_t plain[64];
    fs_read(pair, 1, plain, sizeof(plain)); // the client takes the tickets
    SSL_SESSION* ring[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = fs_take_all(pair->server, ring, FS_NEW_SESSION_RING_CAPACITY);
    CHECK_EQ(n, 3);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(server), 3);
    for (int32_t i = 0; i < n; i++)
        CHECK_EQ(FastSessionNative_SslSessionSetTime(ring[i], (int64_t)time(NULL)), FS_ERR_SESSION_CACHED);
    SSL_SESSION* current = FastSessionNative_SslGet1Session(pair->server);
    CHECK(current != NULL);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(current, 60), FS_ERR_SESSION_CACHED);

    SSL_SESSION* tickets[FS_NEW_SESSION_RING_CAPACITY];
    int32_t m = fs_take_all(pair->client, tickets, FS_NEW_SESSION_RING_CAPACITY);
    CHECK(m >= 1);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(tickets[0], 60), 1);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(client, tickets[0]), 1);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(tickets[0], 61), FS_ERR_SESSION_CACHED);
    CHECK_EQ(FastSessionNative_SslSessionGetTimeout(tickets[0]), 60);

    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    fs_pair_free(pair);
    for (int32_t i = 0; i < n; i++)
        FastSessionNative_SslSessionFree(ring[i]);
    for (int32_t i = 0; i < m; i++)
        FastSessionNative_SslSessionFree(tickets[i]);
    FastSessionNative_SslSessionFree(current);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}
