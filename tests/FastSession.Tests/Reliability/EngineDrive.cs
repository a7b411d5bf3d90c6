using System;
using System.Threading;

namespace FastSession.Tests.Reliability;

/// <summary>
/// Synchronous engine-API drivers over memory (real OpenSSL handshakes, no sockets): a handshake that answers the server's
/// session-store lookups through the product's own path (<see cref="SslConnection.LookUpSessionAsync"/>, bounded by
/// <see cref="SslContext.ServerSessionLookupTimeout"/>), and a TLS 1.3 0-RTT exchange through <see cref="SslConnection.WriteEarlyData"/>,
/// <see cref="SslConnection.ReadEarlyData"/>, <see cref="SslConnection.DecideEarlyData"/> and <see cref="SslConnection.WriteHalfRtt"/>.
/// Engine failures come out as the results' <see cref="SslStatus.Failed"/> or the members' documented exceptions; the drivers
/// never loop unboundedly.
/// </summary>
public sealed class EngineDrive
{
    public readonly byte[] ToServer = new byte[256 * 1024];
    public readonly byte[] ToClient = new byte[256 * 1024];
    public readonly byte[] Plain = new byte[64 * 1024];

    /// <summary>How <see cref="ZeroRtt"/> answers a paused early-data decision: allow, refuse, or leave it to a random choice.</summary>
    public bool? Allow { get; set; } = true;

    /// <summary>Full or resumed handshake; returns whether both ends completed.</summary>
    public bool Handshake(SslConnection c, SslConnection s)
    {
        int toServer = c.Handshake(default, ToServer).OutputBytes, toClient = 0;
        bool clientDone = false, serverDone = false;
        for (int flight = 0; flight < 12 && !(clientDone && serverDone); flight++)
        {
            if (!serverDone)
            {
                SslIoResult r = s.Handshake(ToServer.AsSpan(0, toServer), ToClient.AsSpan(toClient));
                toClient += r.OutputBytes;
                for (int i = 0; i < 4 && r.Status == SslStatus.NeedsSessionLookup; i++)
                {
                    Answer(s, allow: false);
                    r = s.Handshake(default, ToClient.AsSpan(toClient));
                    toClient += r.OutputBytes;
                }
                if (r.Status == SslStatus.Failed)
                {
                    return false;
                }
                serverDone = r.IsCompleted;
                toServer = 0;
            }
            if (!clientDone || toClient > 0)
            {
                SslIoResult r = clientDone ? c.Read(ToClient.AsSpan(0, toClient), Plain, ToServer) : c.Handshake(ToClient.AsSpan(0, toClient), ToServer);
                if (r.Status == SslStatus.Failed)
                {
                    return false;
                }
                toServer = r.OutputBytes;
                clientDone |= r.IsCompleted;
                toClient = 0;
            }
        }
        if (toServer > 0)
        {
            s.Read(ToServer.AsSpan(0, toServer), Plain, ToClient);
        }
        return clientDone && serverDone;
    }

    /// <summary>Sends the client's close_notify, lets the server read it and answer with its own (a clean close on both sides).</summary>
    public void CloseCleanly(SslConnection c, SslConnection s)
    {
        int close = c.Shutdown(ToServer).OutputBytes;
        s.Read(ToServer.AsSpan(0, close), Plain, ToClient);
        s.Shutdown(ToClient);
    }

    /// <summary>The client's newest session: the last ticket it received, else its current session (TLS 1.2 resumed); none if neither.</summary>
    public static SslSession TakeNewest(SslConnection c)
    {
        SslSession last = default;
        while (c.TryTakeNewSession(out SslSession next))
        {
            last.Dispose();
            last = next;
        }
        if (last.IsNone && c.TryAcquireSession(out SslSession current))
        {
            last = current;
        }
        return last;
    }

    /// <summary>
    /// Client resumes <paramref name="ticket"/> and writes <paramref name="early"/> with its ClientHello; the server reads early data
    /// until it is over, answering decisions (<see cref="Allow"/>) and store lookups, writes <paramref name="halfRtt"/> while in 0.5-RTT,
    /// and both complete. Returns the early bytes the server read (-1 when the handshake failed) and the client's early-data status.
    /// </summary>
    public (int EarlyRead, SslEarlyDataStatus Status) ZeroRtt(SslConnection c, SslConnection s, SslSession ticket, ReadOnlySpan<byte> early, ReadOnlySpan<byte> halfRtt = default)
    {
        if (!ticket.IsNone)
        {
            c.SetSession(ticket);
        }
        SslIoResult w = c.WriteEarlyData(early, ToServer);
        int toServer = w.OutputBytes, toClient = 0, earlyRead = 0;
        if (w.Status == SslStatus.Failed)
        {
            return (-1, c.EarlyDataStatus);
        }
        // The server reads the ClientHello and the early data.
        ReadOnlySpan<byte> input = ToServer.AsSpan(0, toServer);
        for (int step = 0; step < 64 && !s.IsEarlyDataFinished; step++)
        {
            SslIoResult r = s.ReadEarlyData(input, Plain, ToClient.AsSpan(toClient));
            input = default;
            toClient += r.OutputBytes;
            earlyRead += r.PlaintextBytes;
            if (r.Status == SslStatus.Failed)
            {
                return (-1, c.EarlyDataStatus);
            }
            if (r.Status == SslStatus.NeedsSessionLookup)
            {
                Answer(s, Allow ?? Random.Shared.Next(2) == 0);
                continue;
            }
            if (r.Status == SslStatus.NeedsInput || (r.Status == SslStatus.Completed && r.PlaintextBytes == 0 && !s.IsEarlyDataFinished && step > 0))
            {
                break;
            }
        }
        if (s.IsInHalfRtt && !halfRtt.IsEmpty)
        {
            toClient += s.WriteHalfRtt(halfRtt, ToClient.AsSpan(toClient)).OutputBytes;
        }
        // The client completes (EndOfEarlyData and Finished when accepted) and reads any 0.5-RTT data.
        SslIoResult cr = c.Handshake(ToClient.AsSpan(0, toClient), ToServer);
        if (cr.Status == SslStatus.Failed)
        {
            return (-1, c.EarlyDataStatus);
        }
        toServer = cr.OutputBytes;
        toClient = 0;
        input = ToServer.AsSpan(0, toServer);
        for (int step = 0; step < 64 && !s.IsEarlyDataFinished; step++)
        {
            SslIoResult r = s.ReadEarlyData(input, Plain, ToClient.AsSpan(toClient));
            input = default;
            toClient += r.OutputBytes;
            earlyRead += r.PlaintextBytes;
            if (r.Status is SslStatus.Failed or SslStatus.NeedsInput)
            {
                return (r.Status == SslStatus.Failed ? -1 : earlyRead, c.EarlyDataStatus);
            }
        }
        SslIoResult sr = s.Handshake(input, ToClient.AsSpan(toClient));
        if (sr.Status == SslStatus.Failed)
        {
            return (-1, c.EarlyDataStatus);
        }
        toClient += sr.OutputBytes;
        if (toClient > 0)
        {
            c.Read(ToClient.AsSpan(0, toClient), Plain, ToServer);
        }
        return (earlyRead, c.EarlyDataStatus);
    }

    // The server's NeedsSessionLookup: an early-data decision, or a store lookup (FastSslStream's path, bounded by the context's timeout).
    private static void Answer(SslConnection s, bool allow)
    {
        if (s.IsEarlyDataDecisionPending)
        {
            s.DecideEarlyData(allow, SslEarlyDataReason.RejectedByPolicy);
        }
        else
        {
            s.LookUpSessionAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }
}
