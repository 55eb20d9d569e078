package dev.oz.worker.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Deep copies of the options data objects, field by field, so that a copy holds everything the original does
 * (settings, and what validation and the sources set beside them) without the JSON round trip: building the
 * binder's serializers and deserializers for every options class was a noticeable part of a start-up. Strings,
 * durations, numbers, enums and records are shared (immutable); collections, Vert.x JSON and nested options
 * objects are copied.
 */
final class OptionsCopy {
  private OptionsCopy() {
  }

  /** Copies every instance field {@code type} declares from {@code from} onto {@code to}. */
  static <T> void copyFields(Class<T> type, T from, T to) {
    for (Field f : type.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      try {
        f.setAccessible(true);
        Object value = f.get(from);
        if (Modifier.isFinal(f.getModifiers())) {
          refill(f.get(to), value); // the collections an options object owns from its construction
        } else {
          f.set(to, copyOf(value));
        }
      } catch (IllegalAccessException e) {
        throw new IllegalStateException("copying " + type.getSimpleName() + "." + f.getName(), e);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static void refill(Object target, Object source) {
    if (target instanceof Collection<?> c && source instanceof Collection<?> s) {
      c.clear();
      s.forEach(v -> ((Collection<Object>) c).add(copyOf(v)));
    } else if (target instanceof Map<?, ?> m && source instanceof Map<?, ?> s) {
      m.clear();
      s.forEach((k, v) -> ((Map<Object, Object>) m).put(k, copyOf(v)));
    } else if (target != source) {
      throw new IllegalStateException("cannot copy a final field of type " + target.getClass().getName());
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Object copyOf(Object v) {
    if (v instanceof JsonObject o) {
      return o.copy();
    }
    if (v instanceof JsonArray a) {
      return a.copy();
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      l.forEach(e -> out.add(copyOf(e)));
      return out;
    }
    if (v instanceof Set<?> s) {
      Set<Object> out = new LinkedHashSet<>();
      s.forEach(e -> out.add(copyOf(e)));
      return out;
    }
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = m instanceof SortedMap<?, ?> sorted ? new TreeMap<>((SortedMap) sorted)
          : new LinkedHashMap<>();
      m.forEach((k, e) -> out.put(k, copyOf(e)));
      return out;
    }
    if (v != null && v.getClass().getPackage() == OptionsCopy.class.getPackage() && !v.getClass().isRecord()
        && !v.getClass().isEnum()) {
      return copyOptions(v);
    }
    return v;
  }

  private static <T> T copyOptions(T from) {
    @SuppressWarnings("unchecked")
    Class<T> type = (Class<T>) from.getClass();
    try {
      var constructor = type.getDeclaredConstructor();
      constructor.setAccessible(true);
      T to = constructor.newInstance();
      copyFields(type, from, to);
      return to;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("copying " + type.getSimpleName(), e);
    }
  }
}
