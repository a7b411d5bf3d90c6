/*
 * Cost of d2i_SSL_SESSION on a server session (what the asynchronous server-store lookup decodes after its Redis round
 * trip, issue 16): warm in a loop, and cold (caches flushed by a 32 MB memset before each decode). Uses the shim's test
 * support for the contexts and the memory-BIO handshake; runs as its one registered case.
 *   cc -O2 -Inative-shim/tests -Inative-shim/include -Inative-shim/src bench/native/d2i_cost.c native-shim/tests/test_support.c \
 *      -Lartifacts/native/Release -lfastsession_shim -lssl -lcrypto -Wl,-rpath,$PWD/artifacts/native/Release -o /tmp/d2i_cost
 *   /tmp/d2i_cost
 */
#include "test_support.h"
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static char junk[32 << 20];

static void d2i_cost(void)
{
    for (int v = 0; v < 2; v++)
    {
        int32_t version = v == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
        fs_ctx_options server_options = fs_server_options(version), client_options = fs_client_options(version);
        SSL_CTX* server = fs_make_ctx(&server_options);
        SSL_CTX* client = fs_make_ctx(&client_options);
        fs_pair* pair = fs_pair_new(client, server, "localhost");
        CHECK(fs_handshake(pair));
        SSL_SESSION* session = SSL_get1_session(pair->server);
        unsigned char der[8192];
        unsigned char* end = der;
        int len = i2d_SSL_SESSION(session, &end);
        CHECK(len > 0 && len <= (int)sizeof der);

        const int loops = 200000;
        double start = now_ns();
        for (int i = 0; i < loops; i++)
        {
            const unsigned char* p = der;
            SSL_SESSION_free(d2i_SSL_SESSION(NULL, &p, len));
        }
        double warm = (now_ns() - start) / loops;

        const int cold_loops = 200;
        double cold = 0;
        for (int i = 0; i < cold_loops; i++)
        {
            memset(junk, i, sizeof junk);
            const unsigned char* p = der;
            double a = now_ns();
            SSL_SESSION* decoded = d2i_SSL_SESSION(NULL, &p, len);
            cold += now_ns() - a;
            SSL_SESSION_free(decoded);
        }
        printf("%s server session, %d bytes of DER: d2i_SSL_SESSION + free %.0f ns warm; d2i_SSL_SESSION %.0f ns cold\n",
            version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3", len, warm, cold / cold_loops);

        SSL_SESSION_free(session);
        fs_pair_free(pair);
        SSL_CTX_free(client);
        SSL_CTX_free(server);
    }
}

__attribute__((constructor)) static void register_case(void)
{
    fs_test_register("d2i_cost", d2i_cost);
}
