/*
 * test_early_data.c — TLS 1.3 0-RTT through the shim (early_data.c): the client's early data leaves
 * with the ClientHello and the server reads it before the handshake completes; OpenSSL's single-use
 * tickets refuse a replay in the same process; the decision pause lets the caller refuse.
 */
#include "test_support.h"

#include <openssl/ssl.h>

static const char k_request[] = "GET / HTTP/1.1\r\n\r\n";

static SSL_CTX* early_server(int32_t flags)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    SSL_CTX* ctx = fs_make_ctx(&so);
    CHECK_EQ(FastSessionNative_SslCtxSetEarlyData(ctx, 16384, 16384, flags), FS_OK);
    return ctx;
}

/* A full handshake and the first ticket the client captured (owned). */
static SSL_SESSION* first_ticket(SSL_CTX* client, SSL_CTX* server)
{
    SSL_SESSION* sessions[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    int reused = -1;
    CHECK(fs_connect_once(client, server, NULL, &reused, sessions, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK(n >= 1);
    for (int32_t i = 1; i < n; i++)
        FastSessionNative_SslSessionFree(sessions[i]);
    return sessions[0];
}

/* A byte copy of the ticket, as an attacker replaying the client's flight holds it: OpenSSL marks a client's
 * TLS 1.3 session non-resumable once used, so each attempt gets its own copy (i2d / d2i). */
static SSL_SESSION* copy_of(SSL_SESSION* session)
{
    unsigned char buf[8192];
    unsigned char* p = buf;
    int len = i2d_SSL_SESSION(session, &p);
    CHECK(len > 0 && len <= (int)sizeof(buf));
    const unsigned char* q = buf;
    SSL_SESSION* copy = d2i_SSL_SESSION(NULL, &q, len);
    CHECK(copy != NULL);
    return copy;
}

/* Client writes early data, server reads it with SSL_read_early_data, then both finish the handshake.
 * With `decide`, the server's pause is answered with `allow`. Returns the early-data bytes read. */
static int32_t zero_rtt(SSL_CTX* client, SSL_CTX* server, SSL_SESSION* session, int decide, int allow,
    fs_early_data_info* client_info, fs_early_data_info* server_info)
{
    fs_pair* pair = fs_pair_new(client, server, "localhost");
    SSL_SESSION* copy = copy_of(session);
    CHECK_EQ(FastSessionNative_SslSetSession(pair->client, copy), FS_OK);
    FastSessionNative_SslSessionFree(copy); // the connection holds its own reference
    uint8_t* out = malloc((size_t)pair->out_cap);
    CHECK(out != NULL);

    fs_io_result r;
    int32_t wrote = FastSessionNative_SslWriteEarlyData(pair->client, (const uint8_t*)k_request, (int32_t)sizeof(k_request) - 1,
        out, pair->out_cap, &r);
    CHECK_EQ(wrote, 1);
    CHECK_EQ(r.plaintext_bytes, (int32_t)sizeof(k_request) - 1);
    CHECK(r.bytes_produced > 0 && r.pending_output == 0); // ClientHello and early data: one flight
    memcpy(pair->to_server.data, out, (size_t)r.bytes_produced);
    pair->to_server.len = r.bytes_produced;

    uint8_t plain[256];
    int32_t early = 0;
    int32_t status;
    for (int round = 0; round < 8; round++)
    {
        status = FastSessionNative_SslReadEarlyData(pair->server, pair->to_server.data, pair->to_server.len,
            plain + early, (int32_t)sizeof(plain) - early, out, pair->out_cap, &r);
        pair->to_server.len = 0;
        memcpy(pair->to_client.data + pair->to_client.len, out, (size_t)r.bytes_produced);
        pair->to_client.len += r.bytes_produced;
        early += r.plaintext_bytes;
        if (status == FS_READ_EARLY_DATA_ERROR && r.ssl_error == FS_SSL_ERROR_WANT_CLIENT_HELLO_CB)
        {
            CHECK(decide);
            CHECK_EQ(FastSessionNative_SslSetEarlyDataDecision(pair->server, allow, 7), FS_OK);
            continue;
        }
        if (status == FS_READ_EARLY_DATA_FINISH)
            break;
        CHECK(status == FS_READ_EARLY_DATA_SUCCESS || r.ssl_error == FS_SSL_ERROR_WANT_READ);
        if (status == FS_READ_EARLY_DATA_ERROR)
        {
            // The server's flight went out; the client's answer (EndOfEarlyData, Finished) ends early data.
            break;
        }
    }
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslGetEarlyDataInfo(pair->client, client_info), FS_OK);
    CHECK_EQ(FastSessionNative_SslGetEarlyDataInfo(pair->server, server_info), FS_OK);
    if (early > 0)
        CHECK(memcmp(plain, k_request, (size_t)early) == 0);
    // A clean close both ways keeps the session resumable (S8), so the test can offer it again.
    fs_read(pair, 1, plain, sizeof(plain));
    fs_shutdown(pair, 1);
    fs_read(pair, 0, plain, sizeof(plain));
    fs_shutdown(pair, 0);
    free(out);
    fs_pair_free(pair);
    return early;
}

FS_TEST(early_data_accepted_and_read_before_finished)
{
    fs_live_counts before = fs_counts();
    SSL_CTX* server = early_server(0);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* client = fs_make_ctx(&co);
    SSL_SESSION* ticket = first_ticket(client, server);
    fs_session_info si;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(ticket, &si), FS_OK);

    fs_early_data_info ci, sv;
    CHECK_EQ(zero_rtt(client, server, ticket, 0, 1, &ci, &sv), (int32_t)sizeof(k_request) - 1);
    CHECK_EQ(ci.status, FS_EARLY_DATA_ACCEPTED);
    CHECK_EQ(sv.status, FS_EARLY_DATA_ACCEPTED);
    CHECK_EQ(sv.allow_cb_ran, 1);
    CHECK_EQ(ci.offered, (int32_t)sizeof(k_request) - 1);

    FastSessionNative_SslSessionFree(ticket);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}

/* OpenSSL's anti-replay: tickets that allow early data are single use in the server's cache. */
FS_TEST(early_data_replayed_ticket_is_rejected_in_process)
{
    fs_live_counts before = fs_counts();
    SSL_CTX* server = early_server(0);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* client = fs_make_ctx(&co);
    SSL_SESSION* ticket = first_ticket(client, server);

    fs_early_data_info ci, sv;
    CHECK_EQ(zero_rtt(client, server, ticket, 0, 1, &ci, &sv), (int32_t)sizeof(k_request) - 1);
    CHECK_EQ(sv.status, FS_EARLY_DATA_ACCEPTED);
    CHECK_EQ(zero_rtt(client, server, ticket, 0, 1, &ci, &sv), 0);
    CHECK_EQ(ci.status, FS_EARLY_DATA_REJECTED);
    CHECK_EQ(sv.status, FS_EARLY_DATA_REJECTED);
    CHECK_EQ(sv.reused, 0); // the ticket was gone: a full handshake

    FastSessionNative_SslSessionFree(ticket);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}

/* The decision is taken outside OpenSSL: the handshake pauses, the caller's "no" is honoured. */
FS_TEST(early_data_decision_pause_denies_and_allows)
{
    fs_live_counts before = fs_counts();
    SSL_CTX* server = early_server(FS_EARLY_DATA_DECIDE | FS_EARLY_DATA_NO_ANTI_REPLAY);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* client = fs_make_ctx(&co);
    SSL_SESSION* ticket = first_ticket(client, server);

    fs_early_data_info ci, sv;
    CHECK_EQ(zero_rtt(client, server, ticket, 1, 0, &ci, &sv), 0);
    CHECK_EQ(sv.status, FS_EARLY_DATA_REJECTED);
    CHECK_EQ(sv.decision, FS_EARLY_DECISION_DENY);
    CHECK_EQ(sv.deny_reason, 7);
    CHECK_EQ(sv.identity_len, FS_EARLY_IDENTITY_HASH);
    CHECK_EQ(sv.reused, 1); // resumed, only the early data was refused
    CHECK_EQ(ci.status, FS_EARLY_DATA_REJECTED);

    // Stateless tickets (no OpenSSL anti-replay): the same ticket resumes again; this time allowed.
    uint8_t first_hash[FS_EARLY_IDENTITY_HASH];
    memcpy(first_hash, sv.identity_hash, sizeof(first_hash));
    CHECK_EQ(zero_rtt(client, server, ticket, 1, 1, &ci, &sv), (int32_t)sizeof(k_request) - 1);
    CHECK_EQ(sv.status, FS_EARLY_DATA_ACCEPTED);
    CHECK(memcmp(first_hash, sv.identity_hash, sizeof(first_hash)) == 0); // same ticket, same key for a replay store

    FastSessionNative_SslSessionFree(ticket);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}

/* A session without early data (server did not enable it) sends nothing early. */
FS_TEST(early_data_not_sent_without_eligible_ticket)
{
    fs_live_counts before = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    SSL_CTX* server = fs_make_ctx(&so);
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* client = fs_make_ctx(&co);
    SSL_SESSION* ticket = first_ticket(client, server);

    fs_pair* pair = fs_pair_new(client, server, "localhost");
    CHECK_EQ(FastSessionNative_SslSetSession(pair->client, ticket), FS_OK);
    uint8_t out[64];
    fs_io_result r;
    CHECK_EQ(FastSessionNative_SslWriteEarlyData(pair->client, (const uint8_t*)"x", 1, out, (int32_t)sizeof(out), &r), 0);
    CHECK_EQ(r.plaintext_bytes, 0);
    CHECK_EQ(r.bytes_produced, 0);
    fs_early_data_info ci;
    CHECK_EQ(FastSessionNative_SslGetEarlyDataInfo(pair->client, &ci), FS_OK);
    CHECK_EQ(ci.session_max_early_data, 0);
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslGetEarlyDataInfo(pair->client, &ci), FS_OK);
    CHECK_EQ(ci.status, FS_EARLY_DATA_NOT_SENT);

    fs_pair_free(pair);
    FastSessionNative_SslSessionFree(ticket);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(before);
}
