// What the compose box shows (the editor renders its own model).
return arguments[0].innerText;
