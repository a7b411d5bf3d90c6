using System;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Redis;

// One bounded wait for store calls on the connection path: the caller gets the result, or a miss once the wait
// is over; a late failure of the abandoned call is observed here so it never surfaces as unobserved.
internal static class Bounded
{
    internal static async Task<(bool Ok, T Value)> WaitAsync<T>(Task<T> task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            T value = await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return (true, value);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(task);
            throw;
        }
        catch (Exception)
        {
            Observe(task);
            return (false, default!);
        }
    }

    // The server store's calls: the caller (SslContext) counts failures by type, so they are thrown, not swallowed:
    // TimeoutException past the wait, the Redis client's exception otherwise.
    internal static async Task<T> OrThrowAsync<T>(Task<T> task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            Observe(task);
            throw;
        }
    }

    private static void Observe(Task task)
    {
        if (!task.IsCompleted)
        {
            task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else
        {
            _ = task.Exception;
        }
    }
}
