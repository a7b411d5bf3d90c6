using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// A <c>[ShimHandleOwner]</c> class (SslConnection, SslContext): null-checked, passed as its
    /// <c>NativeHandle</c>, and kept alive past the call because its finalizer frees that pointer.
    /// </summary>
    internal sealed class OwnerShape : ParameterShape
    {
        private const string KeepAlive = "global::System.GC.KeepAlive";

        public static readonly OwnerShape Instance = new();

        // Cheaper, and clearer, than a NullReferenceException from NativeHandle.
        public override void WriteCheck(SourceWriter writer, ParameterSpec parameter)
            => writer.WriteLine("global::System.ArgumentNullException.ThrowIfNull(" + parameter.Name + ");");

        public override string Argument(ParameterSpec parameter) => parameter.Name + ".NativeHandle";

        public override void WriteAfterCall(SourceWriter writer, ParameterSpec parameter)
            => writer.WriteLine(KeepAlive + "(" + parameter.Name + ");");
    }
}
