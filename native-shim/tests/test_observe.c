/*
 * test_observe.c — what observe.c records: tickets sent and captured, the server's ticket
 * decrypt status per connection (decrypted vs could not be decrypted), cleared by SslClear.
 */
#include "test_support.h"

static SSL_SESSION* last_ticket(SSL_CTX* client, SSL_CTX* server, SSL_SESSION* resume, int* reused)
{
    SSL_SESSION* captured[FS_NEW_SESSION_RING_CAPACITY];
    int32_t n = 0;
    CHECK(fs_connect_once(client, server, resume, reused, captured, FS_NEW_SESSION_RING_CAPACITY, &n));
    CHECK(n > 0);
    for (int32_t i = 0; i + 1 < n; i++)
        FastSessionNative_SslSessionFree(captured[i]);
    return captured[n - 1];
}

FS_TEST(observe_counts_tickets_sent_received_and_captured)
{
    fs_live_counts baseline = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    so.num_tickets = 3;
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    SSL_CTX* server = fs_make_ctx(&so);
    SSL_CTX* client = fs_make_ctx(&co);
    fs_observe_counts before, after;
    FastSessionNative_GetObserveCounts(&before);

    int reused = -1;
    SSL_SESSION* ticket = last_ticket(client, server, NULL, &reused);
    CHECK_EQ(reused, 0);
    FastSessionNative_GetObserveCounts(&after);
    CHECK_EQ(after.tickets_sent - before.tickets_sent, 3);
    CHECK_EQ(after.tickets_received - before.tickets_received, 3);
    CHECK_EQ(after.sessions_captured - before.sessions_captured, 3);

    SSL_SESSION* next = last_ticket(client, server, ticket, &reused);
    CHECK_EQ(reused, 1);
    fs_observe_counts resumed;
    FastSessionNative_GetObserveCounts(&resumed);
    CHECK_EQ((resumed.ticket_decrypted + resumed.ticket_decrypted_renew) - (after.ticket_decrypted + after.ticket_decrypted_renew), 1);
    CHECK_EQ(resumed.ticket_not_decrypted, after.ticket_not_decrypted);

    FastSessionNative_SslSessionFree(ticket);
    FastSessionNative_SslSessionFree(next);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(server);
    CHECK_BASELINE(baseline);
}

FS_TEST(observe_records_a_ticket_the_server_could_not_decrypt_until_clear)
{
    fs_live_counts baseline = fs_counts();
    fs_ctx_options so = fs_server_options(FS_TLS1_2);
    fs_ctx_options co = fs_client_options(FS_TLS1_2);
    SSL_CTX* first = fs_make_ctx(&so);
    SSL_CTX* second = fs_make_ctx(&so); // its own ticket keys
    SSL_CTX* client = fs_make_ctx(&co);
    int reused = -1;
    SSL_SESSION* ticket = last_ticket(client, first, NULL, &reused);

    fs_pair* pair = fs_pair_new(client, second, "localhost");
    CHECK_EQ(FastSessionNative_SslSetSession(pair->client, ticket), FS_OK);
    CHECK(fs_handshake(pair));
    CHECK_EQ(FastSessionNative_SslSessionReused(pair->client), 0);

    fs_resumption_info info;
    CHECK_EQ(FastSessionNative_SslGetResumptionInfo(pair->server, &info), FS_OK);
    CHECK_EQ(info.ticket_status, FS_TICKET_STATUS_NOT_DECRYPTED);
    CHECK_EQ(info.ticket_expired, 0);
    CHECK_EQ(info.tickets_sent, 1); // a fresh ticket replaces the one it could not read

    CHECK_EQ(FastSessionNative_SslClear(pair->server, NULL), FS_OK);
    CHECK_EQ(FastSessionNative_SslGetResumptionInfo(pair->server, &info), FS_OK);
    CHECK_EQ(info.ticket_status, FS_TICKET_STATUS_NONE);
    CHECK_EQ(info.tickets_sent, 0);
    CHECK_EQ(FastSessionNative_SslGetResumptionInfo(NULL, &info), FS_ERR_ARGUMENT);
    CHECK_EQ(FastSessionNative_SslGetResumptionInfo(pair->server, NULL), FS_ERR_ARGUMENT);

    fs_pair_free(pair);
    FastSessionNative_SslSessionFree(ticket);
    FastSessionNative_SslCtxFree(client);
    FastSessionNative_SslCtxFree(second);
    FastSessionNative_SslCtxFree(first);
    CHECK_BASELINE(baseline);
}
