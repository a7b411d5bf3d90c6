/*
 * errors.c — the error queue exports and the small helpers every encoder shares.
 */
#include "fs_internal.h"

#include <string.h>

uint64_t FastSessionNative_ErrGetError(void)
{
    return (uint64_t)ERR_get_error();
}

int32_t FastSessionNative_ErrErrorStringN(uint64_t error, char* buf, int32_t cap)
{
    // No error queue impact.
    if (buf == NULL || cap <= 0)
        return 0;

    ERR_error_string_n((unsigned long)error, buf, (size_t)cap);
    return (int32_t)strnlen(buf, (size_t)cap);
}

void FastSessionNative_ErrClearError(void)
{
    ERR_clear_error();
}

void fastsession_raise_argument(const char* detail)
{
    ERR_raise_data(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT, "%s", detail);
}

int fastsession_no_passphrase(char* buf, int size, int rwflag, void* userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return -1;
}

int32_t fastsession_check_capacity(int len, const uint8_t* buf, int32_t cap, int32_t* needed)
{
    if (len <= 0)
    {
        if (ERR_peek_error() == 0)
            ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
        return FS_ERR_OPENSSL;
    }

    if (needed != NULL)
        *needed = len;

    if (buf == NULL || cap < len)
        return FS_ERR_BUFFER_TOO_SMALL;

    return FS_OK;
}

int32_t fastsession_copy_mem_bio(BIO* bio, uint8_t* buf, int32_t cap, int32_t* needed)
{
    char* data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len > INT32_MAX)
    {
        ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
        return FS_ERR_OPENSSL;
    }

    int32_t rc = fastsession_check_capacity((int)len, buf, cap, needed);
    if (rc != FS_OK)
        return rc;

    memcpy(buf, data, (size_t)len);
    return (int32_t)len;
}
