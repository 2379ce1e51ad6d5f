package io.meritstream.inference;

import java.io.Serializable;

/**
 * Opens the model a {@link ModelSpec} names. Serializable because it travels inside the inference function to the
 * TaskManagers; tests pass a loader of fake models.
 */
@FunctionalInterface
public interface ModelLoader extends Serializable {
    WindowModel load(ModelSpec spec) throws Exception;
}
