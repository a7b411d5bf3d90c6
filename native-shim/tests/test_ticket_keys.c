/*
 * test_ticket_keys.c — the shim's ticket-key ring (SSL_CTX_set_tlsext_ticket_key_evp_cb): two
 * server contexts sharing a ring resume each other's tickets (a fleet in one process), rotation
 * re-issues tickets under the new key, unknown and expired keys fall back to full handshakes.
 */
#include "test_support.h"

#include <time.h>

static fs_ticket_key make_key(uint8_t seed, int32_t size, int64_t not_after)
{
    fs_ticket_key key;
    memset(&key, 0, sizeof(key));
    for (int i = 0; i < FS_TICKET_KEY_NAME_LENGTH; i++)
        key.name[i] = (uint8_t)(seed + i);
    for (int i = 0; i < 32; i++)
    {
        key.hmac_key[i] = (uint8_t)(seed * 3 + i);
        key.aes_key[i] = (uint8_t)(seed * 7 + i);
    }
    key.key_size = size;
    key.not_after = not_after;
    return key;
}

static SSL_CTX* server_with(int32_t version, fs_ticket_keys* ring)
{
    fs_ctx_options so = fs_server_options(version);
    SSL_CTX* ctx = fs_make_ctx(&so);
    if (ring != NULL)
        CHECK_EQ(FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb(ctx, ring), FS_OK);
    return ctx;
}

/* Full handshake on `server`; returns the last captured client session (caller frees). */
static SSL_SESSION* first_session(SSL_CTX* client, SSL_CTX* server)
{
    SSL_SESSION* got[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    int reused = -1;
    CHECK(fs_connect_once(client, server, NULL, &reused, got, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK_EQ(reused, 0);
    CHECK(n >= 1);
    for (int32_t i = 0; i < n - 1; i++)
        FastSessionNative_SslSessionFree(got[i]);
    return got[n - 1];
}

/* Resumes `session` on `server`; returns the reused flag and the newest session (caller frees). */
static int resume_on(SSL_CTX* client, SSL_CTX* server, SSL_SESSION* session, SSL_SESSION** newest)
{
    SSL_SESSION* got[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    int reused = -1;
    CHECK(fs_connect_once(client, server, session, &reused, got, FS_NEW_SESSION_RING_CAPACITY, &n));
    for (int32_t i = 0; i < n; i++)
    {
        if (newest != NULL && i == n - 1)
            *newest = got[i];
        else
            FastSessionNative_SslSessionFree(got[i]);
    }
    return reused;
}

static fs_ticket_key_counts counts_of(fs_ticket_keys* ring)
{
    fs_ticket_key_counts c;
    CHECK_EQ(FastSessionNative_TicketKeysGetCounts(ring, &c), FS_OK);
    return c;
}

static void shared_ring_resumes_across_contexts(int32_t version, int32_t key_size)
{
    fs_live_counts before = fs_counts();
    int64_t rings_before = FastSessionNative_TicketKeysGetLiveCount();
    fs_ticket_keys* ring = FastSessionNative_TicketKeysNew();
    CHECK(ring != NULL);
    fs_ticket_key key = make_key(1, key_size, 0);
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &key, 1), FS_OK);
    SSL_CTX* a = server_with(version, ring);
    SSL_CTX* b = server_with(version, ring);
    SSL_CTX* lone = server_with(version, NULL); // OpenSSL's own random per-context key
    fs_ctx_options co = fs_client_options(version);
    SSL_CTX* client = fs_make_ctx(&co);

    SSL_SESSION* from_a = first_session(client, a);
    CHECK(counts_of(ring).issued >= 1);
    if (version == FS_TLS1_2)
        CHECK_EQ(resume_on(client, lone, from_a, NULL), 0); // what a fleet gets today
    SSL_SESSION* next = NULL;
    CHECK_EQ(resume_on(client, b, from_a, &next), 1);       // another "process" with the same keys
    fs_ticket_key_counts c = counts_of(ring);
    CHECK(c.resumed >= 1);
    CHECK_EQ(c.renewed, 0);
    if (version == FS_TLS1_3)
    {
        // A fresh single-use ticket after the resumption (the callback asks OpenSSL to renew),
        // so a client using each ticket once keeps resuming, here back on the first context.
        CHECK(next != NULL);
        CHECK_EQ(resume_on(client, a, next, NULL), 1);
    }
    if (next != NULL)
        FastSessionNative_SslSessionFree(next);

    FastSessionNative_SslSessionFree(from_a);
    // The contexts hold their own references: freeing the caller's first leaves them working.
    FastSessionNative_TicketKeysFree(ring);
    CHECK_EQ(FastSessionNative_TicketKeysGetLiveCount(), rings_before + 1);
    FastSessionNative_SslCtxFree(a);
    FastSessionNative_SslCtxFree(b);
    FastSessionNative_SslCtxFree(lone);
    FastSessionNative_SslCtxFree(client);
    CHECK_EQ(FastSessionNative_TicketKeysGetLiveCount(), rings_before);
    CHECK_BASELINE(before);
}

FS_TEST(ticket_keys_tls12_shared_ring_resumes_on_another_context)
{
    shared_ring_resumes_across_contexts(FS_TLS1_2, 32);
}

FS_TEST(ticket_keys_tls13_shared_ring_resumes_on_another_context)
{
    shared_ring_resumes_across_contexts(FS_TLS1_3, 32);
}

FS_TEST(ticket_keys_48_byte_format_keys_resume)
{
    shared_ring_resumes_across_contexts(FS_TLS1_2, 16);
}

/* Resumes `session` on `server` by hand and returns the connection's session afterwards
 * (SSL_get1_session: for TLS 1.2 the renewed ticket does not pass the new-session callback). */
static SSL_SESSION* resume_and_get1(SSL_CTX* client, SSL_CTX* server, SSL_SESSION* session)
{
    fs_pair* pair = fs_pair_new(client, server, "localhost");
    CHECK_EQ(FastSessionNative_SslSetSession(pair->client, session), FS_OK);
    CHECK(fs_handshake(pair));
    uint8_t plain[64];
    fs_read(pair, 1, plain, sizeof(plain)); // TLS 1.3: the tickets sent after the handshake
    CHECK_EQ(FastSessionNative_SslSessionReused(pair->client), 1);
    SSL_SESSION* fresh[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = fs_take_all(pair->client, fresh, FS_NEW_SESSION_RING_CAPACITY);
    SSL_SESSION* result;
    if (n > 0)
    {
        result = fresh[n - 1];
        for (int32_t i = 0; i < n - 1; i++)
            FastSessionNative_SslSessionFree(fresh[i]);
    }
    else
    {
        result = FastSessionNative_SslGet1Session(pair->client);
    }
    fs_shutdown(pair, 1);
    fs_read(pair, 0, plain, sizeof(plain));
    fs_shutdown(pair, 0);
    fs_read(pair, 1, plain, sizeof(plain));
    fs_pair_free(pair);
    return result;
}

/* Rotation without restart: a ticket under the previous key is accepted (renew = 2) and the
 * session comes back under the current key, which a context knowing only that key accepts. */
static void rotation_renews(int32_t version)
{
    fs_live_counts before = fs_counts();
    fs_ticket_keys* ring = FastSessionNative_TicketKeysNew();
    fs_ticket_key old_key = make_key(10, 32, 0);
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &old_key, 1), FS_OK);
    SSL_CTX* server = server_with(version, ring);
    fs_ctx_options co = fs_client_options(version);
    SSL_CTX* client = fs_make_ctx(&co);
    SSL_SESSION* got[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    int reused = -1;
    CHECK(fs_connect_once(client, server, NULL, &reused, got, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK(n >= 1);
    SSL_SESSION* under_old = got[n - 1];
    // A copy of the old-key session: OpenSSL marks the original non-resumable once the server
    // renews its ticket (TLS 1.2) or after its single use (TLS 1.3).
    uint8_t der[4096];
    int32_t needed = 0;
    int32_t der_len = FastSessionNative_I2dSslSession(under_old, der, sizeof(der), &needed);
    CHECK(der_len > 0);
    SSL_SESSION* spare = FastSessionNative_D2iSslSession(der, der_len, FastSessionNative_SslCtxGetId(client));
    CHECK(spare != NULL);

    fs_ticket_key rotated[2] = { make_key(20, 32, 0), old_key };
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, rotated, 2), FS_OK);
    int64_t issued_before = counts_of(ring).issued;
    SSL_SESSION* renewed = resume_and_get1(client, server, under_old);
    CHECK(renewed != NULL);
    fs_ticket_key_counts c = counts_of(ring);
    CHECK_EQ(c.renewed, 1);
    CHECK(c.issued > issued_before); // re-issued, under rotated[0] (the only key that encrypts)

    fs_ticket_keys* only_new = FastSessionNative_TicketKeysNew();
    CHECK_EQ(FastSessionNative_TicketKeysInstall(only_new, &rotated[0], 1), FS_OK);
    SSL_CTX* other = server_with(version, only_new);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(renewed), 1);
    CHECK_EQ(resume_on(client, other, renewed, NULL), 1);
    CHECK_EQ(FastSessionNative_SslSessionIsResumable(spare), 1);
    CHECK_EQ(resume_on(client, other, spare, NULL), 0); // the dropped key's tickets are gone
    CHECK_EQ(counts_of(only_new).failed, 1);

    for (int32_t i = 0; i < n; i++)
        FastSessionNative_SslSessionFree(got[i]);
    FastSessionNative_SslSessionFree(spare);
    FastSessionNative_SslSessionFree(renewed);
    FastSessionNative_TicketKeysFree(ring);
    FastSessionNative_TicketKeysFree(only_new);
    FastSessionNative_SslCtxFree(server);
    FastSessionNative_SslCtxFree(other);
    FastSessionNative_SslCtxFree(client);
    CHECK_BASELINE(before);
}

FS_TEST(ticket_keys_tls12_old_key_is_accepted_and_renewed)
{
    rotation_renews(FS_TLS1_2);
}

FS_TEST(ticket_keys_tls13_old_key_is_accepted_and_renewed)
{
    rotation_renews(FS_TLS1_3);
}

/* A key past its not_after neither decrypts nor encrypts: full handshakes, no tickets. */
FS_TEST(ticket_keys_expired_key_gives_full_handshake_and_no_ticket)
{
    fs_live_counts before = fs_counts();
    fs_ticket_keys* ring = FastSessionNative_TicketKeysNew();
    fs_ticket_key key = make_key(30, 32, 0);
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &key, 1), FS_OK);
    SSL_CTX* server = server_with(FS_TLS1_2, ring);
    fs_ctx_options co = fs_client_options(FS_TLS1_2);
    SSL_CTX* client = fs_make_ctx(&co);
    SSL_SESSION* session = first_session(client, server);

    key.not_after = (int64_t)time(NULL) - 1;
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &key, 1), FS_OK);
    fs_ticket_key_counts c0 = counts_of(ring);
    // TLS 1.2 falls back to the server's id cache, which still has the session: use a fresh
    // context with the same (expired) ring to see the key's effect alone.
    SSL_CTX* other = server_with(FS_TLS1_2, ring);
    CHECK_EQ(resume_on(client, other, session, NULL), 0);
    fs_ticket_key_counts c1 = counts_of(ring);
    CHECK(c1.failed >= c0.failed + 2); // the expired decrypt and the refused encrypt
    CHECK_EQ(c1.issued, c0.issued);

    FastSessionNative_SslSessionFree(session);
    FastSessionNative_TicketKeysFree(ring);
    FastSessionNative_SslCtxFree(server);
    FastSessionNative_SslCtxFree(other);
    FastSessionNative_SslCtxFree(client);
    CHECK_BASELINE(before);
}

FS_TEST(ticket_keys_bad_arguments_are_refused)
{
    fs_ticket_keys* ring = FastSessionNative_TicketKeysNew();
    fs_ticket_key key = make_key(40, 24, 0);
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &key, 1), FS_ERR_ARGUMENT);
    key.key_size = 32;
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &key, 0), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_TicketKeysInstall(ring, &key, FS_TICKET_KEYS_MAX + 1), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_TicketKeysInstall(NULL, &key, 1), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb(NULL, ring), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_TicketKeysGetCounts(NULL, NULL), FS_ERR_ARGUMENT);
    SSL_CTX* server = server_with(FS_TLS1_2, ring);
    CHECK_EQ(FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb(server, ring), FS_ERR_ARGUMENT); // once
    FastSessionNative_ErrClearError();
    FastSessionNative_SslCtxFree(server);
    FastSessionNative_TicketKeysFree(ring);
    FastSessionNative_TicketKeysFree(NULL);
}
