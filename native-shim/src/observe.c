/*
 * observe.c — what the shim records for FastSession's metrics and resumption reasons.
 *
 * Managed code never runs inside OpenSSL: these callbacks only store numbers (a per-connection
 * record in fs_conn_data, process-wide atomic counters), and managed code reads them after the
 * engine call returns (FastSessionNative_SslGetResumptionInfo, FastSessionNative_GetObserveCounts).
 *
 * Server side, SSL_CTX_set_session_ticket_cb's decrypt callback tells a ticket OpenSSL could not
 * decrypt (unknown or retired key, corrupted: SSL_TICKET_NO_DECRYPT) from one it decrypted and
 * then did not resume (expired, another protocol version...). The callback returns exactly what
 * OpenSSL does without one (ssl/t1_lib.c tls_decrypt_ticket), so installing it changes nothing
 * but what is recorded. It is independent of where the ticket keys come from
 * (SSL_CTX_set_tlsext_ticket_key_evp_cb or OpenSSL's own keys): OpenSSL calls it with the
 * outcome of whichever key callback ran.
 */
#include "fs_internal.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t g_sessions_captured;
static _Atomic int64_t g_tickets_received;
static _Atomic int64_t g_tickets_sent;
static _Atomic int64_t g_ticket_empty;
static _Atomic int64_t g_ticket_not_decrypted;
static _Atomic int64_t g_ticket_decrypted;
static _Atomic int64_t g_ticket_decrypted_renew;

_Static_assert(sizeof(fs_observe_counts) == 56, "sizeof(fs_observe_counts)");
_Static_assert(sizeof(fs_resumption_info) == 16, "sizeof(fs_resumption_info)");
_Static_assert(FS_TICKET_STATUS_NONE == 0 && FS_TICKET_STATUS_EMPTY == 1 &&
    FS_TICKET_STATUS_NOT_DECRYPTED == 2 && FS_TICKET_STATUS_DECRYPTED == 3 &&
    FS_TICKET_STATUS_DECRYPTED_RENEW == 4, "FS_TICKET_STATUS_*");

static void add(_Atomic int64_t* counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

void fastsession_observe_session_captured(const SSL_SESSION* session)
{
    add(&g_sessions_captured);
    if (session != NULL && SSL_SESSION_has_ticket(session))
        add(&g_tickets_received);
}

void fastsession_observe_clear(fs_conn_data* conn)
{
    if (conn != NULL)
        memset(&conn->observe, 0, sizeof(conn->observe));
}

/* Called by OpenSSL for every ticket the server builds (TLS 1.2 NewSessionTicket, each TLS 1.3
 * ticket). Returning 0 would abort the handshake: always 1. */
static int ticket_generated_cb(SSL* ssl, void* arg)
{
    (void)arg;
    add(&g_tickets_sent);
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn != NULL && conn->observe.tickets_sent < INT32_MAX)
        conn->observe.tickets_sent++;
    return 1;
}

static int ticket_decrypted_cb(SSL* ssl, SSL_SESSION* session, const unsigned char* keyname,
    size_t keyname_length, SSL_TICKET_STATUS status, void* arg)
{
    (void)keyname;
    (void)keyname_length;
    (void)arg;
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    int32_t recorded = FS_TICKET_STATUS_NONE;
    SSL_TICKET_RETURN decision;
    switch (status)
    {
        case SSL_TICKET_EMPTY:
            add(&g_ticket_empty);
            recorded = FS_TICKET_STATUS_EMPTY;
            decision = SSL_TICKET_RETURN_IGNORE_RENEW;
            break;
        case SSL_TICKET_NO_DECRYPT:
            add(&g_ticket_not_decrypted);
            recorded = FS_TICKET_STATUS_NOT_DECRYPTED;
            decision = SSL_TICKET_RETURN_IGNORE_RENEW;
            break;
        case SSL_TICKET_SUCCESS:
            add(&g_ticket_decrypted);
            recorded = FS_TICKET_STATUS_DECRYPTED;
            decision = SSL_TICKET_RETURN_USE;
            break;
        case SSL_TICKET_SUCCESS_RENEW:
            add(&g_ticket_decrypted_renew);
            recorded = FS_TICKET_STATUS_DECRYPTED_RENEW;
            decision = SSL_TICKET_RETURN_USE_RENEW;
            break;
        default:
            // OpenSSL passes only the four above; anything else keeps its own handling.
            decision = SSL_TICKET_RETURN_IGNORE_RENEW;
            break;
    }
    if (conn != NULL)
    {
        conn->observe.ticket_status = recorded;
        // OpenSSL checks the session's age after this callback (TLS 1.2: ssl_get_prev_session,
        // TLS 1.3: the PSK age against the timeout): record whether it will find it expired.
        conn->observe.ticket_expired = 0;
        if (session != NULL && (status == SSL_TICKET_SUCCESS || status == SSL_TICKET_SUCCESS_RENEW))
        {
            int64_t issued = (int64_t)SSL_SESSION_get_time(session);
            int64_t timeout = (int64_t)SSL_SESSION_get_timeout(session);
            int64_t now = (int64_t)time(NULL);
            // No signed overflow, whatever the ticket's session says (UBSan runs the managed suite in CI).
            conn->observe.ticket_expired = timeout >= 0 && issued <= now - timeout ? 1 : 0;
        }
    }
    return decision;
}

int fastsession_observe_install(SSL_CTX* ctx)
{
    return SSL_CTX_set_session_ticket_cb(ctx, ticket_generated_cb, ticket_decrypted_cb, NULL);
}

int32_t FastSessionNative_SslGetResumptionInfo(SSL* ssl, fs_resumption_info* info)
{
    // No error queue impact.
    if (info == NULL)
        return FS_ERR_ARGUMENT;
    memset(info, 0, sizeof(*info));
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL)
        return FS_ERR_ARGUMENT;
    info->ticket_status = conn->observe.ticket_status;
    info->ticket_expired = conn->observe.ticket_expired;
    info->tickets_sent = conn->observe.tickets_sent;
    return FS_OK;
}

void FastSessionNative_GetObserveCounts(fs_observe_counts* counts)
{
    // No error queue impact.
    if (counts == NULL)
        return;
    counts->sessions_captured = atomic_load_explicit(&g_sessions_captured, memory_order_relaxed);
    counts->tickets_received = atomic_load_explicit(&g_tickets_received, memory_order_relaxed);
    counts->tickets_sent = atomic_load_explicit(&g_tickets_sent, memory_order_relaxed);
    counts->ticket_empty = atomic_load_explicit(&g_ticket_empty, memory_order_relaxed);
    counts->ticket_not_decrypted = atomic_load_explicit(&g_ticket_not_decrypted, memory_order_relaxed);
    counts->ticket_decrypted = atomic_load_explicit(&g_ticket_decrypted, memory_order_relaxed);
    counts->ticket_decrypted_renew = atomic_load_explicit(&g_ticket_decrypted_renew, memory_order_relaxed);
}

int32_t FastSessionNative_GetObserveStructSize(int32_t which)
{
    // No error queue impact.
    switch (which)
    {
        case 0: return (int32_t)sizeof(fs_observe_counts);
        case 1: return (int32_t)sizeof(fs_resumption_info);
        default: return -1;
    }
}
