/*
 * verify_ctx_cost.c — what a verifying client context costs to create (issue #11): a context with
 * OpenSSL's default verify paths (system trust) against one without verification, through the
 * shim, and the one-time load of the default bundle.
 *
 *   cc -O2 -Inative-shim/include bench/verify/verify_ctx_cost.c -Lartifacts/native/Release \
 *      -lfastsession_shim -lssl -lcrypto -o /tmp/verify_ctx_cost
 *   LD_LIBRARY_PATH=artifacts/native/Release /tmp/verify_ctx_cost [contexts]
 */
#include "fastsession_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/ssl.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    fs_ctx_options o = { 0 };
    o.capture_new_sessions = 1;
    o.num_tickets = -1;
    o.tickets_enabled = 1;
    const int32_t verify = FS_VERIFY_PEER | FS_VERIFY_DEFAULT_PATHS | FS_VERIFY_CHECK_NAME;

    uint64_t id;
    SSL_CTX* first = FastSessionNative_SslCtxCreate(&o, &id);
    double t = now();
    if (first == NULL || FastSessionNative_SslCtxSetVerify(first, verify) != FS_OK)
        return 1;
    printf("first verifying context (loads the default bundle once): %.1f ms\n", (now() - t) * 1000);
    FastSessionNative_SslCtxFree(first);

    for (int mode = 0; mode < 2; mode++)
    {
        t = now();
        for (int i = 0; i < n; i++)
        {
            SSL_CTX* ctx = FastSessionNative_SslCtxCreate(&o, &id);
            if (ctx == NULL || (mode == 1 && FastSessionNative_SslCtxSetVerify(ctx, verify) != FS_OK))
                return 1;
            FastSessionNative_SslCtxFree(ctx);
        }
        printf("%-44s %.3f ms per context (%d contexts)\n",
            mode == 0 ? "client context, no verification:" : "client context, default verify paths:", (now() - t) * 1000 / n, n);
    }

    // What the shim replaced: OpenSSL parsing the default bundle for every context.
    int m = n < 20 ? n : 20;
    t = now();
    for (int i = 0; i < m; i++)
    {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == NULL || !SSL_CTX_set_default_verify_paths(ctx))
            return 1;
        SSL_CTX_free(ctx);
    }
    printf("%-44s %.3f ms per context (%d contexts)\n", "SSL_CTX_set_default_verify_paths per context:", (now() - t) * 1000 / m, m);
    return 0;
}
