using System;
using FastSession.Tests.Infrastructure;
using Xunit;

namespace FastSession.Tests.Conformance;

/// <summary>
/// S4 (across processes): a session exported as DER or PEM ("SSL SESSION PARAMETERS", the format of
/// openssl sess_id and s_client -sess_out) imports and resumes; malformed input is a FormatException
/// with OpenSSL's reason and leaks nothing.
/// </summary>
public sealed class EncodingTests : LiveObjectTest
{
    private readonly SslMemoryPipe _pipe = new();

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void DerRoundTrip_KeepsEveryField_AndResumes(TlsVersion version)
    {
        using SslContext server = Tls.Server(version, alpn: "h2");
        using SslContext client = Tls.Client(version, alpn: "h2");
        using SslSession original = Tls.ConnectAndCaptureLast(client, server, _pipe);

        byte[] der = original.ToDer();
        using SslSession imported = SslSession.FromDer(der, client);

        SslSessionInfo a = original.Info, b = imported.Info;
        Assert.Equal(a.SessionId, b.SessionId);
        Assert.Equal(a.Protocol, b.Protocol);
        Assert.Equal(a.CipherSuite, b.CipherSuite);
        Assert.Equal(a.CipherName, b.CipherName);
        Assert.Equal(a.Time, b.Time);
        Assert.Equal(a.Timeout, b.Timeout);
        Assert.Equal(a.HasTicket, b.HasTicket);
        Assert.Equal("localhost", b.ServerName);
        Assert.Equal("h2", b.ApplicationProtocol);
        Assert.Equal(der, imported.ToDer());
        Assert.True(TryResume(client, server, imported));
    }

    [Theory]
    [InlineData(TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13)]
    public void PemRoundTrip_IsTheSessIdFormat_AndResumes(TlsVersion version)
    {
        using SslContext server = Tls.Server(version);
        using SslContext client = Tls.Client(version);
        using SslSession original = Tls.ConnectAndCaptureLast(client, server, _pipe);

        string pem = original.ToPem();

        Assert.StartsWith("-----BEGIN SSL SESSION PARAMETERS-----", pem, StringComparison.Ordinal);
        Assert.Contains("-----END SSL SESSION PARAMETERS-----", pem, StringComparison.Ordinal);
        using SslSession imported = SslSession.FromPem(pem, client);
        Assert.Equal(original.Id, imported.Id);
        Assert.True(TryResume(client, server, imported));
        string text = imported.ToText();
        Assert.Contains("Session-ID: " + imported.Id, text, StringComparison.Ordinal);
    }

    [Fact]
    public void TryWriteDer_WithASmallBuffer_ReportsTheSizeNeeded()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls13);
        using SslContext client = Tls.Client(TlsVersion.Tls13);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);

        Assert.False(session.TryWriteDer(new byte[8], out int needed));
        byte[] buffer = new byte[needed];
        Assert.True(session.TryWriteDer(buffer, out int written));
        Assert.Equal(needed, written);
        Assert.Equal(session.ToDer(), buffer);
    }

    [Theory]
    [InlineData(new byte[] { 0x30 })]
    [InlineData(new byte[] { 0x30, 0x82, 0xff, 0xff, 0x02, 0x01 })]
    [InlineData(new byte[] { 0x04, 0x03, 0x01, 0x02, 0x03 })]
    [InlineData(new byte[] { 0xde, 0xad, 0xbe, 0xef })]
    public void MalformedDer_ThrowsFormatException_AndLeaksNothing(byte[] der)
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);

        SslSessionFormatException e = Assert.Throws<SslSessionFormatException>(() => SslSession.FromDer(der, client));

        Assert.Contains("DER", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedOrTrailingDer_IsRejected()
    {
        using SslContext server = Tls.Server(TlsVersion.Tls12);
        using SslContext client = Tls.Client(TlsVersion.Tls12);
        using SslSession session = Tls.ConnectAndCaptureLast(client, server, _pipe);
        byte[] der = session.ToDer();

        Assert.Throws<SslSessionFormatException>(() => SslSession.FromDer(der.AsSpan(0, der.Length - 1), client));
        byte[] trailing = new byte[der.Length + 3];
        der.CopyTo(trailing, 0);
        Assert.Throws<SslSessionFormatException>(() => SslSession.FromDer(trailing, client));
        Assert.Throws<SslSessionFormatException>(() => SslSession.FromDer(ReadOnlySpan<byte>.Empty, client));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello")]
    [InlineData("-----BEGIN SSL SESSION PARAMETERS-----\nAAAA\n-----END SSL SESSION PARAMETERS-----\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")]
    public void MalformedPem_ThrowsFormatException(string pem)
    {
        using SslContext client = Tls.Client(TlsVersion.Tls13);

        Assert.Throws<SslSessionFormatException>(() => SslSession.FromPem(pem, client));
    }

    private bool TryResume(SslContext client, SslContext server, SslSession session)
    {
        using SslConnection c = client.CreateConnection("localhost");
        using SslConnection s = server.CreateConnection();
        c.SetSession(session);
        _pipe.Handshake(c, s);
        bool reused = c.SessionReused;
        _pipe.Shutdown(c, s);
        while (c.TryTakeNewSession(out SslSession t))
        {
            t.Dispose();
        }
        return reused;
    }
}
