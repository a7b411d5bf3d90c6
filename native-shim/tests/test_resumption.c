/*
 * test_resumption.c — the man page's session semantics (DESIGN.md S2–S12) through the shim:
 * resumption by session id and by ticket, TLS 1.3 tickets via the new-session ring, sessions
 * taken before the ticket, clean vs unclean shutdown, one session one context, cache flushing.
 */
#include "test_support.h"

#include <openssl/err.h>

#include <time.h>

typedef struct fs_env {
    SSL_CTX* server;
    SSL_CTX* client;
} fs_env;

static fs_env env_new(int32_t version, int tickets, int32_t num_tickets)
{
    fs_ctx_options so = fs_server_options(version);
    so.tickets_enabled = tickets;
    so.num_tickets = num_tickets;
    fs_ctx_options co = fs_client_options(version);
    fs_env env = { fs_make_ctx(&so), fs_make_ctx(&co) };
    return env;
}

static void env_free(fs_env env)
{
    FastSessionNative_SslCtxFree(env.client);
    FastSessionNative_SslCtxFree(env.server);
}

static void free_all(SSL_SESSION** sessions, int32_t count)
{
    for (int32_t i = 0; i < count; i++)
        FastSessionNative_SslSessionFree(sessions[i]);
}

static void check_resumes(fs_env env, SSL_SESSION* session, int expected_reused)
{
    int reused = -1;
    SSL_SESSION* fresh[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    CHECK(fs_connect_once(env.client, env.server, session, &reused, fresh, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(reused, expected_reused);
    free_all(fresh, n);
}

/* S4: TLS 1.2 resumption by session id (no tickets): the server finds the id in its cache. */
FS_TEST(tls12_resumes_by_session_id)
{
    fs_env env = env_new(FS_TLS1_2, 0, -1);
    SSL_SESSION* captured[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    int reused = -1;
    CHECK(fs_connect_once(env.client, env.server, NULL, &reused, captured, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(reused, 0);
    CHECK_EQ(n, 1); // TLS 1.2: one session, at the end of the full handshake

    fs_session_info info;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(captured[0], &info), FS_OK);
    CHECK_EQ(info.protocol_version, FS_TLS1_2);
    CHECK_EQ(info.resumable, 1);
    CHECK_EQ(info.has_ticket, 0);
    CHECK_EQ(info.id_length, 32);
    CHECK_EQ(info.context_id, FastSessionNative_SslCtxGetId(env.client));
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);

    check_resumes(env, captured[0], 1);
    // TLS 1.2 sessions may be reused until they expire (S9 is about TLS 1.3).
    check_resumes(env, captured[0], 1);

    free_all(captured, n);
    env_free(env);
}

/* S4: TLS 1.2 resumption by ticket (RFC 5077). */
FS_TEST(tls12_resumes_by_ticket)
{
    fs_env env = env_new(FS_TLS1_2, 1, -1);
    SSL_SESSION* captured[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    CHECK(fs_connect_once(env.client, env.server, NULL, NULL, captured, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(n, 1);
    fs_session_info info;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(captured[0], &info), FS_OK);
    CHECK_EQ(info.has_ticket, 1);
    CHECK_EQ(info.resumable, 1);
    CHECK(info.ticket_lifetime_hint > 0);

    // The ticket alone resumes: the server's cache is not needed.
    FastSessionNative_SslCtxFlushSessions(env.server, 0);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 0);
    check_resumes(env, captured[0], 1);

    free_all(captured, n);
    env_free(env);
}

/* S4, S6, S7: TLS 1.3 tickets arrive after the handshake; the ring delivers every one. */
FS_TEST(tls13_resumes_by_ticket)
{
    fs_env env = env_new(FS_TLS1_3, 1, -1);
    SSL_SESSION* captured[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    CHECK(fs_connect_once(env.client, env.server, NULL, NULL, captured, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(n, 2); // OpenSSL's default: two tickets
    for (int32_t i = 0; i < n; i++)
    {
        CHECK_EQ(FastSessionNative_SslSessionIsResumable(captured[i]), 1);
        CHECK_EQ(FastSessionNative_SslSessionGetProtocolVersion(captured[i]), FS_TLS1_3);
    }
    check_resumes(env, captured[0], 1);
    check_resumes(env, captured[1], 1);

    free_all(captured, n);
    env_free(env);
}

/* S6: num_tickets = 3 gives three distinct resumable sessions in the ring. */
FS_TEST(tls13_three_tickets_three_sessions)
{
    fs_env env = env_new(FS_TLS1_3, 1, 3);
    SSL_SESSION* captured[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    CHECK(fs_connect_once(env.client, env.server, NULL, NULL, captured, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(n, 3);
    CHECK(captured[0] != captured[1] && captured[1] != captured[2] && captured[0] != captured[2]);
    for (int32_t i = 0; i < n; i++)
    {
        fs_session_info info;
        CHECK_EQ(FastSessionNative_SslSessionGetInfo(captured[i], &info), FS_OK);
        CHECK_EQ(info.resumable, 1);
        CHECK_EQ(info.has_ticket, 1);
        check_resumes(env, captured[i], 1);
    }
    free_all(captured, n);
    env_free(env);
}

/* S6/S7: one flight of 5,000 TLS 1.3 tickets, all processed inside a single SSL_read, reaches the
 * queue whole: it grows past its inline capacity instead of dropping; new_sessions counts this call. */
FS_TEST(queue_grows_for_thousands_of_tickets_in_one_flight)
{
    enum { TICKETS = 5000 };
    fs_env env = env_new(FS_TLS1_3, 1, TICKETS);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    uint8_t plain[64];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.new_sessions, TICKETS);
    CHECK_EQ(FastSessionNative_SslGetDroppedSessionCount(pair->client), 0);

    // A second call that establishes nothing reports 0, though the sessions still wait.
    fs_io_result again = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(again.new_sessions, 0);

    // Oldest first; the newest captured session is the connection's current one.
    static SSL_SESSION* taken[TICKETS];
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, taken, 3), 3);
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, taken + 3, TICKETS), TICKETS - 3);
    CHECK(taken[TICKETS - 1] == FastSessionNative_SslGet0Session(pair->client));
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, taken, 1), 0);
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, NULL, 1), 0);
    free_all(taken, TICKETS);

    fs_pair_free(pair);
    env_free(env);
}

/* SSL_new_session_ticket: a server asks for more tickets after the handshake; the next engine call
 * sends them and the client captures every one. */
FS_TEST(new_session_ticket_sends_extra_tickets)
{
    fs_env env = env_new(FS_TLS1_3, 1, 0);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    for (int i = 0; i < 20; i++)
        CHECK_EQ(FastSessionNative_SslNewSessionTicket(pair->server), FS_OK);
    CHECK_EQ(FastSessionNative_SslNewSessionTicket(pair->client), FS_ERR_OPENSSL);
    ERR_clear_error();
    CHECK_EQ(FastSessionNative_SslNewSessionTicket(NULL), FS_ERR_ARGUMENT);
    ERR_clear_error();
    fs_write(pair, 0, "x", 1); // the server's next engine call writes the queued tickets first
    uint8_t plain[64];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.plaintext_bytes, 1);
    CHECK_EQ(r.new_sessions, 20);
    SSL_SESSION* taken[32];
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, taken, 32), 20);
    free_all(taken, 20);
    fs_pair_free(pair);
    env_free(env);
}

/* Sessions left in the ring are freed with the connection (the run_one baseline proves it). */
FS_TEST(ring_sessions_freed_with_connection)
{
    fs_env env = env_new(FS_TLS1_3, 1, 3);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    uint8_t plain[64];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.new_sessions, 3);
    fs_pair_free(pair);
    env_free(env);
}

/* S5: a TLS 1.3 session taken right after the handshake, before the ticket was read, cannot
 * resume; SetSession refuses it. The one taken after the ticket can. */
FS_TEST(tls13_session_taken_before_ticket_is_not_resumable)
{
    fs_env env = env_new(FS_TLS1_3, 1, 1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    CHECK(pair->to_client.len > 0); // the ticket is on its way

    SSL_SESSION* early = FastSessionNative_SslGet1Session(pair->client);
    CHECK(early != NULL);
    CHECK(early == FastSessionNative_SslGet0Session(pair->client));
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(early), 0);
    fs_session_info info;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(early, &info), FS_OK);
    CHECK_EQ(info.resumable, 0);
    CHECK_EQ(info.has_ticket, 0);
    CHECK_EQ(info.id_length, 0);

    uint8_t plain[64];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.ssl_error, FS_SSL_ERROR_WANT_READ);
    CHECK_EQ(r.plaintext_bytes, 0);
    CHECK_EQ(r.new_sessions, 1);

    SSL_SESSION* late = FastSessionNative_SslGet1Session(pair->client);
    CHECK(late != NULL && late != early);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(late), 1);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(early), 0);

    SSL* other = FastSessionNative_SslCreate(env.client, "localhost");
    CHECK_EQ(FastSessionNative_SslSetSession(other, early), FS_ERR_NOT_RESUMABLE);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_EQ(FastSessionNative_SslSetSession(other, late), FS_OK);
    FastSessionNative_SslFree(other);

    fs_shutdown(pair, 1); // without it, freeing the connection would mark `late` (S8)
    fs_pair_free(pair);
    check_resumes(env, late, 1);
    FastSessionNative_SslSessionFree(early);
    FastSessionNative_SslSessionFree(late);
    env_free(env);
}

/* S8: SSL_free without SSL_shutdown marks the session non-resumable and removes it from the
 * server's cache; a clean shutdown keeps it resumable. TLS 1.2 with session ids. */
static void tls12_free(int clean)
{
    fs_env env = env_new(FS_TLS1_2, 0, -1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* client_session = FastSessionNative_SslGet1Session(pair->client);
    SSL_SESSION* server_session = FastSessionNative_SslGet1Session(pair->server);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(client_session), 1);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(server_session), 1);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);

    if (clean)
    {
        fs_io_result r = fs_shutdown(pair, 1);
        CHECK_EQ(r.ret, 0);
        CHECK_EQ(FastSessionNative_SslGetShutdown(pair->client), 1);
        uint8_t plain[16];
        r = fs_read(pair, 0, plain, sizeof(plain));
        CHECK_EQ(r.ssl_error, FS_SSL_ERROR_ZERO_RETURN);
        r = fs_shutdown(pair, 0);
        CHECK_EQ(r.ret, 1);
    }
    fs_pair_free(pair);

    CHECK_EQ(FastSessionNative_SslSessionIsResumable(client_session), clean);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(server_session), clean);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), clean);

    if (clean)
        check_resumes(env, client_session, 1);
    else
    {
        SSL* ssl = FastSessionNative_SslCreate(env.client, "localhost");
        CHECK_EQ(FastSessionNative_SslSetSession(ssl, client_session), FS_ERR_NOT_RESUMABLE);
        FastSessionNative_SslFree(ssl);

        // The flag is not part of the DER encoding: a decoded copy looks resumable again, but
        // the server removed the session from its cache, so the handshake is a full one.
        uint8_t der[4096];
        int32_t len = FastSessionNative_I2dSslSession(client_session, der, sizeof(der), NULL);
        CHECK(len > 0);
        SSL_SESSION* copy = FastSessionNative_D2iSslSession(der, len, FastSessionNative_SslCtxGetId(env.client));
        CHECK(copy != NULL);
        CHECK_EQ(FastSessionNative_SslSessionIsResumable(copy), 1);
        check_resumes(env, copy, 0);
        FastSessionNative_SslSessionFree(copy);
    }

    FastSessionNative_SslSessionFree(client_session);
    FastSessionNative_SslSessionFree(server_session);
    env_free(env);
}

FS_TEST(tls12_unclean_free_makes_session_not_resumable)
{
    tls12_free(0);
}

FS_TEST(tls12_clean_shutdown_keeps_session_resumable)
{
    tls12_free(1);
}

/* S8 in TLS 1.3: the connection's current session (the last ticket) is marked; earlier tickets,
 * already replaced on the connection, stay resumable. */
FS_TEST(tls13_unclean_free_marks_only_the_current_session)
{
    fs_env env = env_new(FS_TLS1_3, 1, 2);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    uint8_t plain[16];
    fs_io_result r = fs_read(pair, 1, plain, sizeof(plain));
    CHECK_EQ(r.new_sessions, 2);
    SSL_SESSION* tickets[2];
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, tickets, 2), 2);
    CHECK(tickets[1] == FastSessionNative_SslGet0Session(pair->client));
    fs_pair_free(pair);

    CHECK_EQ(FastSessionNative_SslSessionIsResumable(tickets[0]), 1);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(tickets[1]), 0);
    check_resumes(env, tickets[0], 1);

    free_all(tickets, 2);
    env_free(env);
}

/* S12: a session of one context is refused by a connection of another; an unbound one binds. */
FS_TEST(set_session_of_another_context_is_refused)
{
    fs_env env = env_new(FS_TLS1_3, 1, 1);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* other_client = fs_make_ctx(&co);
    CHECK(FastSessionNative_SslCtxGetId(other_client) != FastSessionNative_SslCtxGetId(env.client));

    SSL_SESSION* captured[1];
    int32_t n = 0;
    CHECK(fs_connect_once(env.client, env.server, NULL, NULL, captured, 1, &n));
    CHECK_EQ(n, 1);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(captured[0]), FastSessionNative_SslCtxGetId(env.client));

    SSL* ssl = FastSessionNative_SslCreate(other_client, "localhost");
    CHECK_EQ(FastSessionNative_SslSetSession(ssl, captured[0]), FS_ERR_WRONG_CONTEXT);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK(FastSessionNative_SslGet0Session(ssl) == NULL);
    CHECK_EQ(FastSessionNative_SslSessionSetContextId(captured[0], FastSessionNative_SslCtxGetId(other_client)),
        FS_ERR_WRONG_CONTEXT);
    CHECK_EQ(FastSessionNative_SslSessionSetContextId(captured[0], FastSessionNative_SslCtxGetId(env.client)), FS_OK);
    CHECK_EQ(FastSessionNative_SslSessionSetContextId(captured[0], 0), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslSessionSetContextId(NULL, 1), FS_ERR_ARGUMENT);

    // The explicit re-bind goes through DER: an unbound copy binds to the connection's context.
    uint8_t der[4096];
    int32_t needed = 0;
    int32_t len = FastSessionNative_I2dSslSession(captured[0], der, sizeof(der), &needed);
    CHECK(len > 0);
    SSL_SESSION* unbound = FastSessionNative_D2iSslSession(der, len, 0);
    CHECK(unbound != NULL);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(unbound), 0);
    CHECK_EQ(FastSessionNative_SslSetSession(ssl, unbound), FS_OK);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(unbound), FastSessionNative_SslCtxGetId(other_client));
    CHECK(FastSessionNative_SslGet0Session(ssl) == unbound);

    // The server-side cache follows the same rule.
    CHECK_EQ(FastSessionNative_SslCtxAddSession(env.server, unbound), FS_ERR_WRONG_CONTEXT);

    FastSessionNative_SslFree(ssl);
    FastSessionNative_SslSessionFree(unbound);
    free_all(captured, n);
    FastSessionNative_SslCtxFree(other_client);
    env_free(env);
}

/* S11: SSL_CTX_flush_sessions removes expired sessions from the server cache and marks them
 * non-resumable; the client's copy then gets a full handshake. */
FS_TEST(flush_removes_expired_sessions)
{
    fs_env env = env_new(FS_TLS1_2, 0, -1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* client_session = FastSessionNative_SslGet1Session(pair->client);
    SSL_SESSION* server_session = FastSessionNative_SslGet1Session(pair->server);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(server_session), FastSessionNative_SslCtxGetId(env.server));
    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    fs_pair_free(pair);

    int64_t now = (int64_t)time(NULL);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);
    FastSessionNative_SslCtxFlushSessions(env.server, now);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1); // not expired yet
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(server_session), 1);

    int64_t timeout = FastSessionNative_SslSessionGetTimeout(server_session);
    CHECK(timeout > 0);
    CHECK(FastSessionNative_SslSessionGetTime(server_session) <= now);
    FastSessionNative_SslCtxFlushSessions(env.server, now + timeout + 10);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 0);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(server_session), 0);

    // The client still holds a resumable copy, but the server no longer knows it.
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(client_session), 1);
    check_resumes(env, client_session, 0);

    FastSessionNative_SslSessionFree(client_session);
    FastSessionNative_SslSessionFree(server_session);
    env_free(env);
}

/* S11 with an aged session: the cached session itself cannot be re-timed (FS_ERR_SESSION_CACHED);
 * a copy with SetTime/SetTimeout in the past replaces it in the cache (same id), flush(now) drops it. */
FS_TEST(flush_drops_session_aged_with_set_time)
{
    fs_env env = env_new(FS_TLS1_2, 0, -1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* server_session = FastSessionNative_SslGet1Session(pair->server);
    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    fs_pair_free(pair);

    int64_t now = (int64_t)time(NULL);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(server_session, 60), FS_ERR_SESSION_CACHED);
    CHECK_EQ(FastSessionNative_SslSessionSetTime(server_session, now - 3600), FS_ERR_SESSION_CACHED);
    SSL_SESSION* aged = FastSessionNative_SslSessionDup(server_session);
    CHECK(aged != NULL);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(aged, 60), 1);
    CHECK_EQ(FastSessionNative_SslSessionGetTimeout(aged), 60);
    CHECK_EQ(FastSessionNative_SslSessionSetTime(aged, now - 3600), 1);
    CHECK_EQ(FastSessionNative_SslSessionGetTime(aged), now - 3600);
    CHECK_EQ(FastSessionNative_SslSessionSetTime(NULL, now), 0);
    CHECK_EQ(FastSessionNative_SslSessionSetTimeout(NULL, 1), 0);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(env.server, aged), 1);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);
    FastSessionNative_SslCtxFlushSessions(env.server, now);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 0);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(aged), 0);

    FastSessionNative_SslSessionFree(aged);
    FastSessionNative_SslSessionFree(server_session);
    env_free(env);
}

/* SSL_CTX_add_session / SSL_CTX_remove_session on the server cache. */
FS_TEST(server_cache_add_and_remove)
{
    fs_env env = env_new(FS_TLS1_2, 0, -1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* client_session = FastSessionNative_SslGet1Session(pair->client);
    SSL_SESSION* server_session = FastSessionNative_SslGet1Session(pair->server);
    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    fs_pair_free(pair);

    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 1);
    CHECK_EQ(FastSessionNative_SslCtxRemoveSession(env.server, server_session), 1);
    CHECK_EQ(FastSessionNative_SslCtxRemoveSession(env.server, server_session), 0);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 0);
    check_resumes(env, client_session, 0);
    size_t before = (size_t)FastSessionNative_SslCtxSessNumber(env.server); // the full handshake's new session
    CHECK_EQ(before, 1);

    CHECK_EQ(FastSessionNative_SslCtxAddSession(env.server, server_session), 1);
    CHECK_EQ(FastSessionNative_SslCtxSessNumber(env.server), 2);
    CHECK_EQ(FastSessionNative_SslCtxAddSession(NULL, server_session), 0);
    CHECK_EQ(FastSessionNative_SslCtxRemoveSession(env.server, NULL), 0);

    FastSessionNative_SslSessionFree(client_session);
    FastSessionNative_SslSessionFree(server_session);
    env_free(env);
}

/* S7 on a server context: sessions are captured as they are cached or sent as tickets.
 * TLS 1.2 with tickets gives none: OpenSSL's server session then has an empty id and
 * ssl_update_cache skips both the cache and the callback. */
FS_TEST(server_context_captures_new_sessions)
{
    static const struct { int32_t version; int32_t tickets; int32_t expected; } cases[] = {
        { FS_TLS1_2, 0, 1 }, { FS_TLS1_2, 1, 0 }, { FS_TLS1_3, 1, 2 }, { FS_TLS1_3, 0, 2 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    {
        int32_t version = cases[c].version;
        fs_ctx_options so = fs_server_options(version);
        so.tickets_enabled = cases[c].tickets;
        so.capture_new_sessions = 1;
        so.num_tickets = 2;
        fs_ctx_options co = fs_client_options(version);
        fs_env env = { fs_make_ctx(&so), fs_make_ctx(&co) };
        fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
        CHECK(fs_handshake(pair));
        SSL_SESSION* taken[FS_NEW_SESSION_RING_CAPACITY];
        int32_t n = FastSessionNative_SslTakeNewSessions(pair->server, taken, FS_NEW_SESSION_RING_CAPACITY);
        CHECK_EQ(n, cases[c].expected);
        for (int32_t i = 0; i < n; i++)
            CHECK_EQ(FastSessionNative_SslSessionGetContextId(taken[i]), FastSessionNative_SslCtxGetId(env.server));
        free_all(taken, n);
        fs_pair_free(pair);
        env_free(env);
    }
}

/* S1–S3: get0 borrows (no reference), get1 owns one reference; NULL before any handshake. */
FS_TEST(get0_borrows_get1_owns)
{
    fs_env env = env_new(FS_TLS1_2, 1, -1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(FastSessionNative_SslGet0Session(pair->client) == NULL);
    CHECK(FastSessionNative_SslGet1Session(pair->client) == NULL);
    CHECK(FastSessionNative_SslGet0Session(NULL) == NULL);
    CHECK(FastSessionNative_SslGet1Session(NULL) == NULL);
    CHECK(fs_handshake(pair));

    fs_live_counts before = fs_counts();
    SSL_SESSION* borrowed = FastSessionNative_SslGet0Session(pair->client);
    SSL_SESSION* owned = FastSessionNative_SslGet1Session(pair->client);
    CHECK(borrowed != NULL && borrowed == owned);
    CHECK_BASELINE(before); // a reference, not a copy
    CHECK_EQ(FastSessionNative_SslSessionUpRef(owned), 1);
    CHECK_EQ(FastSessionNative_SslSessionUpRef(NULL), 0);
    FastSessionNative_SslSessionFree(owned);
    FastSessionNative_SslSessionFree(NULL);

    fs_shutdown(pair, 1);
    fs_pair_free(pair);
    // The connection is gone; the owned reference keeps the session alive and readable.
    CHECK_EQ(FastSessionNative_SslSessionGetProtocolVersion(owned), FS_TLS1_2);
    uint8_t id[FS_SESSION_ID_MAX];
    CHECK_EQ(FastSessionNative_SslSessionGetId(owned, id, sizeof(id)), 32);
    CHECK_EQ(FastSessionNative_SslSessionGetId(owned, id, 8), FS_ERR_BUFFER_TOO_SMALL);
    FastSessionNative_SslSessionFree(owned);
    env_free(env);
}

/* Captured sessions hold their own references: they outlive the contexts and connections that
 * made them. A server context's cached sessions are flushed (marked) when it is freed. */
FS_TEST(sessions_outlive_their_contexts)
{
    fs_env env = env_new(FS_TLS1_2, 0, -1);
    fs_pair* pair = fs_pair_new(env.client, env.server, "localhost");
    CHECK(fs_handshake(pair));
    SSL_SESSION* client_session = NULL;
    CHECK_EQ(FastSessionNative_SslTakeNewSessions(pair->client, &client_session, 1), 1);
    SSL_SESSION* server_session = FastSessionNative_SslGet1Session(pair->server);
    fs_shutdown(pair, 1);
    fs_shutdown(pair, 0);
    fs_pair_free(pair);
    uint64_t client_id = FastSessionNative_SslCtxGetId(env.client);
    env_free(env);

    fs_session_info info;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(client_session, &info), FS_OK);
    CHECK_EQ(info.resumable, 1);
    CHECK_EQ(info.context_id, client_id); // the id outlives its context: still never reused
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(server_session), 0);
    uint8_t der[4096];
    CHECK(FastSessionNative_I2dSslSession(client_session, der, sizeof(der), NULL) > 0);
    FastSessionNative_SslSessionFree(server_session);
    FastSessionNative_SslSessionFree(client_session);
}
