package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JacksonAnnotationsInside;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A Go pointer field with {@code omitempty} ({@code *string}, {@code *bool}, {@code *Harness}, ...): absent or
 * null decodes to null, not to "", and null is not written. Null is how the argument rules tell "not sent"
 * from an explicit value such as {@code computer_use_enabled: false}.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER})
@JacksonAnnotationsInside
@JsonSetter(nulls = Nulls.SET)
@JsonInclude(JsonInclude.Include.NON_NULL)
@interface OmitNull {
}
