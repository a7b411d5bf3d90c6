using System;
using System.IO;
using System.Threading.Tasks;
using FastSession.Tests.Infrastructure;
using FastSession.Tests.Interop;
using Xunit;

namespace FastSession.Tests.Review;

/// <summary>
/// Review finding: FastSessionNative_PemReadSslSession calls PEM_bytes_read_bio with a NULL password callback (and
/// SslCtxUseCertificateAndKeyPem calls PEM_read_bio_PrivateKey the same way). A PEM block with
/// "Proc-Type: 4,ENCRYPTED" then makes OpenSSL's PEM_def_callback prompt "Enter PEM pass phrase:" on /dev/tty —
/// or, without a terminal, on the process's stdin — and block until a line arrives. So SslSession.FromPem on
/// untrusted text (a session file, `fastsession inspect`) hangs the caller and consumes its stdin.
/// Run in a child process (the fastsession tool) so the hang cannot take the test host with it.
/// </summary>
public sealed class EncryptedPemPromptReviewTests : LiveObjectTest
{
    private const string EncryptedSessionPem =
        "-----BEGIN SSL SESSION PARAMETERS-----\n" +
        "Proc-Type: 4,ENCRYPTED\n" +
        "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n" +
        "\n" +
        "AAECAwQFBgcICQoLDA0ODw==\n" +
        "-----END SSL SESSION PARAMETERS-----\n";

    [Fact]
    public async Task FromPem_WithAnEncryptedHeader_FailsWithoutPromptingForAPassphrase()
    {
        string file = Path.Combine(Path.GetTempPath(), $"fastsession-review-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(file, EncryptedSessionPem);
        try
        {
            string tool = Path.Combine(AppContext.BaseDirectory, "FastSession.Cli.dll");
            using ToolProcess process = ToolProcess.Start("dotnet", tool, "inspect", file);
            // stdin stays open (as for a server or a service): a passphrase prompt waits on it forever.
            int code;
            try
            {
                code = await process.WaitForExitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException e)
            {
                throw new Xunit.Sdk.XunitException("FromPem blocked waiting for a PEM pass phrase on stdin/tty: " + e.Message);
            }
            Assert.Equal(2, code);
            Assert.DoesNotContain("pass phrase", process.Output, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
