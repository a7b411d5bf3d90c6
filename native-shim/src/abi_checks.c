/*
 * abi_checks.c — pins every struct layout and constant of fastsession_shim.h at compile time.
 * The managed side (src/FastSession/Interop/ShimTypes.cs) mirrors these numbers and checks them
 * with Unsafe.SizeOf / Marshal.OffsetOf; FastSessionNative_GetStructSize checks them at run time.
 */
#include "fs_internal.h"

#include <stddef.h>

#define FS_ASSERT_LAYOUT(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), #type "." #field " moved")

/* ---- Constants equal to OpenSSL's ---------------------------------------------------------- */

_Static_assert(FS_TLS1_2 == TLS1_2_VERSION, "FS_TLS1_2");
_Static_assert(FS_TLS1_3 == TLS1_3_VERSION, "FS_TLS1_3");

_Static_assert(FS_SSL_ERROR_NONE == SSL_ERROR_NONE, "FS_SSL_ERROR_NONE");
_Static_assert(FS_SSL_ERROR_SSL == SSL_ERROR_SSL, "FS_SSL_ERROR_SSL");
_Static_assert(FS_SSL_ERROR_WANT_READ == SSL_ERROR_WANT_READ, "FS_SSL_ERROR_WANT_READ");
_Static_assert(FS_SSL_ERROR_WANT_WRITE == SSL_ERROR_WANT_WRITE, "FS_SSL_ERROR_WANT_WRITE");
_Static_assert(FS_SSL_ERROR_SYSCALL == SSL_ERROR_SYSCALL, "FS_SSL_ERROR_SYSCALL");
_Static_assert(FS_SSL_ERROR_ZERO_RETURN == SSL_ERROR_ZERO_RETURN, "FS_SSL_ERROR_ZERO_RETURN");

/* FastSessionNative_SslGetShutdown documents these values. */
_Static_assert(SSL_SENT_SHUTDOWN == 1, "SSL_SENT_SHUTDOWN");
_Static_assert(SSL_RECEIVED_SHUTDOWN == 2, "SSL_RECEIVED_SHUTDOWN");

/* The info snapshot's buffers hold the protocol maxima. */
_Static_assert(FS_SESSION_ID_MAX == SSL_MAX_SSL_SESSION_ID_LENGTH, "FS_SESSION_ID_MAX");
_Static_assert(FS_SNI_MAX >= TLSEXT_MAXLEN_host_name, "FS_SNI_MAX");
_Static_assert(FS_ALPN_MAX >= 255, "FS_ALPN_MAX");

/* Status codes: distinct, negative failures, FS_OK positive. */
_Static_assert(FS_OK == 1, "FS_OK");
_Static_assert(FS_ERR_OPENSSL == -1 && FS_ERR_WRONG_CONTEXT == -2 && FS_ERR_ARGUMENT == -3 &&
    FS_ERR_BUFFER_TOO_SMALL == -4 && FS_ERR_NOT_RESUMABLE == -5 && FS_ERR_SESSION_CACHED == -6, "status codes");
_Static_assert(FS_NEW_SESSION_RING_CAPACITY == 8, "FS_NEW_SESSION_RING_CAPACITY");
_Static_assert(FS_NEW_SESSION_QUEUE_MAX == 65536, "FS_NEW_SESSION_QUEUE_MAX");
_Static_assert((FS_NEW_SESSION_QUEUE_MAX & (FS_NEW_SESSION_QUEUE_MAX - 1)) == 0, "queue capacities are powers of two");

/* Opaque handles are the system OpenSSL's types. */
_Static_assert(sizeof(SSL_SESSION*) == 8 && sizeof(void*) == 8, "64-bit pointers");
_Static_assert(sizeof(long) == 8, "LP64: time_t/long values fit int64_t and back");

/* ---- fs_ctx_options ------------------------------------------------------------------------ */

_Static_assert(sizeof(fs_ctx_options) == 40, "sizeof(fs_ctx_options)");
FS_ASSERT_LAYOUT(fs_ctx_options, is_server, 0);
FS_ASSERT_LAYOUT(fs_ctx_options, min_version, 4);
FS_ASSERT_LAYOUT(fs_ctx_options, max_version, 8);
FS_ASSERT_LAYOUT(fs_ctx_options, tickets_enabled, 12);
FS_ASSERT_LAYOUT(fs_ctx_options, num_tickets, 16);
FS_ASSERT_LAYOUT(fs_ctx_options, session_cache_size, 20);
FS_ASSERT_LAYOUT(fs_ctx_options, session_timeout_seconds, 24);
FS_ASSERT_LAYOUT(fs_ctx_options, capture_new_sessions, 32);
FS_ASSERT_LAYOUT(fs_ctx_options, verify_peer, 36);

/* ---- fs_io_result -------------------------------------------------------------------------- */

_Static_assert(sizeof(fs_io_result) == 40, "sizeof(fs_io_result)");
FS_ASSERT_LAYOUT(fs_io_result, ret, 0);
FS_ASSERT_LAYOUT(fs_io_result, ssl_error, 4);
FS_ASSERT_LAYOUT(fs_io_result, bytes_consumed, 8);
FS_ASSERT_LAYOUT(fs_io_result, bytes_produced, 12);
FS_ASSERT_LAYOUT(fs_io_result, pending_output, 16);
FS_ASSERT_LAYOUT(fs_io_result, plaintext_bytes, 20);
FS_ASSERT_LAYOUT(fs_io_result, new_sessions, 24);
FS_ASSERT_LAYOUT(fs_io_result, handshake_done, 28);
FS_ASSERT_LAYOUT(fs_io_result, error_code, 32);

/* ---- fs_session_info ----------------------------------------------------------------------- */

_Static_assert(sizeof(fs_session_info) == 672, "sizeof(fs_session_info)");
FS_ASSERT_LAYOUT(fs_session_info, id, 0);
FS_ASSERT_LAYOUT(fs_session_info, id_length, 32);
FS_ASSERT_LAYOUT(fs_session_info, protocol_version, 36);
FS_ASSERT_LAYOUT(fs_session_info, cipher_id, 40);
FS_ASSERT_LAYOUT(fs_session_info, resumable, 44);
FS_ASSERT_LAYOUT(fs_session_info, time, 48);
FS_ASSERT_LAYOUT(fs_session_info, timeout, 56);
FS_ASSERT_LAYOUT(fs_session_info, ticket_lifetime_hint, 64);
FS_ASSERT_LAYOUT(fs_session_info, has_ticket, 68);
FS_ASSERT_LAYOUT(fs_session_info, max_early_data, 72);
FS_ASSERT_LAYOUT(fs_session_info, sni_length, 76);
FS_ASSERT_LAYOUT(fs_session_info, alpn_length, 80);
FS_ASSERT_LAYOUT(fs_session_info, cipher_name_length, 84);
FS_ASSERT_LAYOUT(fs_session_info, context_id, 88);
FS_ASSERT_LAYOUT(fs_session_info, cipher_name, 96);
FS_ASSERT_LAYOUT(fs_session_info, sni, 160);
FS_ASSERT_LAYOUT(fs_session_info, alpn, 416);

/* ---- fs_live_counts ------------------------------------------------------------------------ */

_Static_assert(sizeof(fs_live_counts) == 32, "sizeof(fs_live_counts)");
FS_ASSERT_LAYOUT(fs_live_counts, contexts, 0);
FS_ASSERT_LAYOUT(fs_live_counts, connections, 8);
FS_ASSERT_LAYOUT(fs_live_counts, sessions, 16);
FS_ASSERT_LAYOUT(fs_live_counts, certificates, 24);
