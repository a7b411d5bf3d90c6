using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Interop;

/// <summary>
/// A child process (the <c>openssl</c> binary) with captured stdout/stderr, a way to wait for output, and a Dispose that
/// always kills it: tests never leave processes behind and never wait without a limit.
/// </summary>
public sealed class ToolProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly SemaphoreSlim _changed = new(0, int.MaxValue);

    private ToolProcess(Process process)
    {
        _process = process;
    }

    public static ToolProcess Start(string fileName, params string[] arguments) => Start(null, fileName, arguments);

    /// <summary>Starts with extra environment variables (e.g. SSL_CERT_FILE for a child's OpenSSL default trust).</summary>
    public static ToolProcess Start(IReadOnlyDictionary<string, string>? environment, string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Under tools/sanitize-managed-tests.sh the test host runs with libasan preloaded; the peers (curl, openssl, redis-server,
        // dotnet-counters) are not what is being checked and must not inherit it (curl hangs under it). Our own tool keeps
        // it: the ASan-instrumented shim it loads needs the runtime first in the library list.
        if (!IsFastSessionHost(fileName))
        {
            info.Environment.Remove("LD_PRELOAD");
            info.Environment.Remove("ASAN_OPTIONS");
            info.Environment.Remove("UBSAN_OPTIONS");
        }
        if (environment is not null)
        {
            foreach (KeyValuePair<string, string> variable in environment)
            {
                info.Environment[variable.Key] = variable.Value;
            }
        }
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var tool = new ToolProcess(process);
        process.OutputDataReceived += (_, e) => tool.Append(e.Data);
        process.ErrorDataReceived += (_, e) => tool.Append(e.Data);
        process.Exited += (_, _) => tool._changed.Release();
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return tool;
    }

    private static bool IsFastSessionHost(string fileName)
    {
        string name = System.IO.Path.GetFileName(fileName);
        return name == "dotnet" || name.StartsWith("FastSession", StringComparison.OrdinalIgnoreCase) || name == "fastsession";
    }

    /// <summary>Runs to completion (stdin closed at once, or after <paramref name="input"/>) and returns the exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, string? input, string fileName, params string[] arguments)
    {
        using ToolProcess tool = Start(fileName, arguments);
        if (input is not null)
        {
            await tool.WriteAsync(input);
        }
        tool.CloseInput();
        int code = await tool.WaitForExitAsync(timeout);
        return (code, tool.Output);
    }

    /// <summary>Everything written to stdout and stderr so far (interleaved by line).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The child's process id (for tools that attach to it, such as dotnet-counters).</summary>
    public int ProcessId => _process.Id;

    public async Task WriteAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        await _process.StandardInput.FlushAsync();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits until the output satisfies <paramref name="condition"/>; throws with the output so far on timeout or exit.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (condition(Output))
            {
                return;
            }
            if (_process.HasExited)
            {
                // Let the last lines arrive.
                _process.WaitForExit();
                if (condition(Output))
                {
                    return;
                }
                throw new TimeoutException($"{_process.StartInfo.FileName} exited ({_process.ExitCode}) before {what}. Output:\n{Output}");
            }
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"No {what} within {timeout.TotalSeconds:0} s. Output:\n{Output}");
            }
            await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>Waits for the process to exit; kills it (and fails) after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within {timeout.TotalSeconds:0} s. Output:\n{Output}");
        }
        _process.WaitForExit(); // Drains the redirected streams.
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
        _changed.Release();
    }
}
