package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JacksonAnnotationsInside;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Go's {@code omitempty} on a value field: "", 0, false and an empty list or map are not written. (A Go
 * string is never null: absent or null decodes to "", see {@link ProtocolJson}.)
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER})
@JacksonAnnotationsInside
@JsonInclude(JsonInclude.Include.NON_DEFAULT)
@interface OmitEmpty {
}
