package io.meritstream.inference;

/**
 * One model call that the batcher may abort when it runs past its deadline. The model registers how to abort it
 * ({@link #onAbort}) and says when the call is over ({@link #finished}); the two never overlap, so the abort action
 * cannot touch resources (ONNX Runtime run options) that the call has already released.
 */
public final class ModelCall {
    private Runnable abortAction;
    private boolean aborted;
    private boolean finished;

    /** Registers how to abort the running call; runs it at once if the deadline has already passed. */
    public synchronized void onAbort(Runnable action) {
        if (finished) {
            return;
        }
        abortAction = action;
        if (aborted) {
            action.run();
        }
    }

    /** The call is over: a later {@link #abort} does nothing. Call it before releasing what the abort action uses. */
    public synchronized void finished() {
        finished = true;
        abortAction = null;
    }

    /** Called by the batcher at the deadline. */
    synchronized void abort() {
        if (finished || aborted) {
            return;
        }
        aborted = true;
        if (abortAction != null) {
            abortAction.run();
        }
    }

    /** Whether the deadline passed while the call ran. */
    public synchronized boolean aborted() {
        return aborted;
    }
}
