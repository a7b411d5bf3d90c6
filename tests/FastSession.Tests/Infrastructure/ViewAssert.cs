using System;
using Xunit.Sdk;

namespace FastSession.Tests.Infrastructure;

public delegate void SessionViewAction(SslSessionRef view);

public delegate void CertificateViewAction(PeerCertificateRef view);

/// <summary>
/// Assert.Throws for borrowed views: a lambda cannot capture a ref struct, so the view is passed in.
/// Requires exactly <typeparamref name="T"/>, like Assert.Throws.
/// </summary>
public static class ViewAssert
{
    public static T Throws<T>(SslSessionRef view, SessionViewAction action) where T : Exception
    {
        try
        {
            action(view);
        }
        catch (Exception e) when (e.GetType() == typeof(T))
        {
            return (T)e;
        }
        catch (Exception e)
        {
            throw new XunitException($"Expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
        }
        throw new XunitException($"Expected {typeof(T).Name}, nothing was thrown.");
    }

    public static T Throws<T>(PeerCertificateRef view, CertificateViewAction action) where T : Exception
    {
        try
        {
            action(view);
        }
        catch (Exception e) when (e.GetType() == typeof(T))
        {
            return (T)e;
        }
        catch (Exception e)
        {
            throw new XunitException($"Expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
        }
        throw new XunitException($"Expected {typeof(T).Name}, nothing was thrown.");
    }
}
