using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace FastSession.Tests.Interop;

/// <summary>A thread-safe TextWriter for in-process CLI runs that lets a test wait for a line to appear.</summary>
public sealed class CapturingWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly SemaphoreSlim _changed = new(0, int.MaxValue);

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public string[] Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override void Write(char value)
    {
        lock (_text)
        {
            _text.Append(value);
        }
        _changed.Release();
    }

    public override void Write(string? value)
    {
        lock (_text)
        {
            _text.Append(value);
        }
        _changed.Release();
    }

    public override void WriteLine(string? value) => Write(value + "\n");

    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, Task? failsEarlyWith = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (string line in Lines)
            {
                if (match(line))
                {
                    return line;
                }
            }
            if (failsEarlyWith is { IsCompleted: true })
            {
                throw new InvalidOperationException($"The command ended before the expected line. Output:\n{Text}");
            }
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The expected line did not appear within {timeout.TotalSeconds:0} s. Output:\n{Text}");
            }
            await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
        }
    }
}
