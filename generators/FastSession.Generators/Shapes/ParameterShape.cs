using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// How one kind of value crosses the shim (after dotnet/runtime's marshalling generators: one small class
    /// per kind). A wrapper body is written in fixed phases; each shape writes its own part of each phase:
    /// <list type="number">
    /// <item><see cref="WriteCheck"/>: argument checks that throw before anything native happens;</item>
    /// <item><see cref="WriteOpen"/>: the scope that keeps the argument valid for the call (a lease, a pin);</item>
    /// <item>(return shape) <see cref="WriteReturnOpen"/>, the call with every <see cref="Argument"/>,
    /// <see cref="WriteAfterCall"/> (keep-alives), <see cref="WriteReturn"/>, <see cref="WriteReturnClose"/>;</item>
    /// <item><see cref="WriteClose"/>, in reverse parameter order.</item>
    /// </list>
    /// </summary>
    internal abstract class ParameterShape
    {
        /// <summary>The shape of <paramref name="kind"/>.</summary>
        public static ParameterShape For(ShimTypeKind kind) => kind switch
        {
            ShimTypeKind.HandleOwner => OwnerShape.Instance,
            ShimTypeKind.BorrowedView => BorrowedViewShape.Instance,
            ShimTypeKind.OwnedHandle => OwnedHandleShape.Instance,
            ShimTypeKind.PinnedSpan => PinnedSpanShape.Instance,
            ShimTypeKind.PinnedRef => PinnedRefShape.Instance,
            ShimTypeKind.Utf8String => Utf8StringShape.Instance,
            _ => BlittableShape.Instance,
        };

        /// <summary>Checks that throw before any lease is taken or any native call is made.</summary>
        public virtual void WriteCheck(SourceWriter writer, ParameterSpec parameter)
        {
        }

        /// <summary>Opens what keeps the native argument valid during the call.</summary>
        public virtual void WriteOpen(SourceWriter writer, ParameterSpec parameter)
        {
        }

        /// <summary>The expression passed to the blittable extern.</summary>
        public abstract string Argument(ParameterSpec parameter);

        /// <summary>Right after the call, before the return value is wrapped.</summary>
        public virtual void WriteAfterCall(SourceWriter writer, ParameterSpec parameter)
        {
        }

        /// <summary>Closes what <see cref="WriteOpen"/> opened.</summary>
        public virtual void WriteClose(SourceWriter writer, ParameterSpec parameter)
        {
        }

        /// <summary>As a return shape: opens what must hold across the call (a get0's reader lease).</summary>
        public virtual void WriteReturnOpen(SourceWriter writer, ImportMethodSpec method)
        {
        }

        /// <summary>As a return shape: turns <c>__result</c> into the managed return value.</summary>
        public virtual void WriteReturn(SourceWriter writer, ImportMethodSpec method) => writer.WriteLine("return __result;");

        /// <summary>As a return shape: closes what <see cref="WriteReturnOpen"/> opened.</summary>
        public virtual void WriteReturnClose(SourceWriter writer, ImportMethodSpec method)
        {
        }

        /// <summary>"try {" for a scope whose end runs in a finally block.</summary>
        protected static void OpenTry(SourceWriter writer)
        {
            writer.WriteLine("try");
            writer.OpenBlock();
        }

        /// <summary>"} finally { <paramref name="statement"/> }".</summary>
        protected static void CloseTry(SourceWriter writer, string statement)
        {
            writer.CloseBlock();
            writer.WriteLine("finally");
            writer.OpenBlock();
            writer.WriteLine(statement);
            writer.CloseBlock();
        }
    }
}
