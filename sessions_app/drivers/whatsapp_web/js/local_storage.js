// The first of the given localStorage keys that holds a value.
for (const key of arguments[0]) {
  const value = window.localStorage.getItem(key);
  if (value) return value;
}
return null;
